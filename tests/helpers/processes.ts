// Real processes for end-to-end, fault and replica tests: `tally serve`, the
// example host app, the load generator. Every child started here is tracked and
// SIGKILLed by killAll() (call it in afterAll/afterEach), so a failing
// assertion never leaves a process holding jest open.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CLI, cliEnv } from "./cli.js";

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  /** http://127.0.0.1:port once ready. */
  url: string;
  port: number;
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const children = new Set<ChildProcessWithoutNullStreams>();

/** SIGKILLs every child still running and waits until each has exited. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  children.clear();
}

/** Spawns `node args…` (in `cwd`, default this one), collecting its output, tracked for killAll(). */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const child = spawn(process.execPath, args, { env, cwd });
  children.add(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  void exited.then(() => children.delete(child));
  return { child, exited, output: () => out };
}

/** Spawns `node args…` and resolves once `ready` reads its port from the output. */
export function startProcess(args: string[], env: NodeJS.ProcessEnv, ready: (out: string) => number | undefined): Promise<Proc> {
  const { child, exited, output } = spawnNode(args, env);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} ${why}:\n${output()}`));
    };
    const timer = setTimeout(() => fail("did not start within 30 s"), 30_000);
    void exited.then(() => fail("exited early"));
    const check = () => {
      if (settled) return;
      const port = ready(output());
      if (port === undefined) return void setTimeout(check, 25);
      settled = true;
      clearTimeout(timer);
      resolve({
        child,
        port,
        url: `http://127.0.0.1:${port}`,
        output,
        exited,
        stop: () => {
          child.kill("SIGTERM");
          return exited;
        },
      });
    };
    check();
  });
}

/** `tally serve` on a free port (NODE_ENV=test unless env says otherwise). */
export function startTally(env: Record<string, string>): Promise<Proc> {
  return startProcess([CLI, "serve"], cliEnv({ PORT: "0", LOG_LEVEL: "info", ...env }), (out) => {
    const line = out.split("\n").find((l) => l.includes('"tally listening'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  });
}

const HOST_APP = fileURLToPath(new URL("../../examples/host-app/server.mjs", import.meta.url));

/** The example host app on a free port, proxying to `tallyUrl`. */
export function startHostApp(tallyUrl: string, env: Record<string, string> = {}): Promise<Proc> {
  return startProcess([HOST_APP], { PATH: process.env.PATH ?? "", PORT: "0", TALLY_URL: tallyUrl, ...env }, (out) => {
    const port = /host app listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    return port ? Number(port) : undefined;
  });
}
