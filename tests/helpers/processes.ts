// Starting tally and the example host app as real processes for end-to-end tests.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CLI, cliEnv } from "./cli.js";

export interface Proc {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
  stop(): Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv, ready: (out: string) => string | undefined): Promise<Proc> {
  const child = spawn(process.execPath, args, { env });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not start:\n${out}`)), 30_000);
    void exited.then(() => reject(new Error(`${args.join(" ")} exited early:\n${out}`)));
    const check = () => {
      const url = ready(out);
      if (!url) return void setTimeout(check, 50);
      clearTimeout(timer);
      resolve({
        child,
        url,
        output: () => out,
        stop: async () => {
          child.kill("SIGTERM");
          return exited;
        },
      });
    };
    check();
  });
}

/** `tally serve` on a free port. */
export function startTally(env: Record<string, string>): Promise<Proc> {
  return start([CLI, "serve"], cliEnv({ PORT: "0", LOG_LEVEL: "info", ...env }), (out) => {
    const line = out.split("\n").find((l) => l.includes('"tally listening"'));
    return line ? `http://127.0.0.1:${JSON.parse(line).port}` : undefined;
  });
}

export const HOST_APP = fileURLToPath(new URL("../../examples/host-app/server.mjs", import.meta.url));

/** The example host app on a free port, proxying to `tallyUrl`. */
export function startHostApp(tallyUrl: string, env: Record<string, string> = {}): Promise<Proc> {
  return start([HOST_APP], { PATH: process.env.PATH ?? "", PORT: "0", TALLY_URL: tallyUrl, ...env }, (out) =>
    /host app listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1],
  );
}
