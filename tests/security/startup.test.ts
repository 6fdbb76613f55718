// Start-up never hangs: against a database port that accepts connections and
// never answers, `tally serve` and `tally migrate` exit 1 within 15 s with one
// line naming the host and port (never the password); with the HTTP port
// already taken, `tally serve` exits 1 with one line and stops the embedded
// PostgreSQL it started.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLI, cliEnv } from "../helpers/cli.js";
import { killAll, spawnNode } from "../helpers/processes.js";
import { TEST_ID_SECRET, TEST_SESSION_SECRET } from "../helpers/app.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
afterAll(async () => {
  await killAll();
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

/** A TCP port that accepts connections and never says a word. */
async function silentPort(): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

/** Runs the CLI until it exits, or kills it after `limitMs`; resolves with its code, output and time taken. */
function runUntilExit(args: string[], env: Record<string, string>, limitMs: number) {
  const t0 = Date.now();
  const { child, exited, output } = spawnNode([CLI, ...args], cliEnv(env));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  return exited.then((code) => {
    clearTimeout(timer);
    return { code, ms: Date.now() - t0, stderr, output: output() };
  });
}

test.each([["serve"], ["migrate"]])("`tally %s` against a database that never answers exits 1 within 15 s, naming host and port only", async (command) => {
  const port = await silentPort();
  const r = await runUntilExit(
    [command],
    { DATABASE_URL: `postgresql://tally:s3cret-pw@127.0.0.1:${port}/tally`, PORT: "0", TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET },
    20_000,
  );
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(15_000);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`127.0.0.1:${port}`);
  expect(r.output).not.toContain("s3cret-pw");
}, 30_000);

test("`tally serve` on a port already in use exits 1 with one line and stops the embedded PostgreSQL it started", async () => {
  const taken = createServer();
  servers.push(taken);
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const port = (taken.address() as { port: number }).port;
  const dataDir = mkdtempSync(path.join(tmpdir(), "tally-port-in-use-"));
  try {
    const r = await runUntilExit(["serve"], { NODE_ENV: "development", HOST: "127.0.0.1", PORT: String(port), TALLY_DATA_DIR: dataDir }, 60_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`port ${port}.*in use|in use.*${port}`));
    // The embedded server it started is gone: no live postmaster on its data directory.
    const pidFile = path.join(dataDir, "postgres", "postmaster.pid");
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
      expect(() => process.kill(pid, 0)).toThrow();
    }
    expect(existsSync(path.join(dataDir, "postgres", "PG_VERSION"))).toBe(true); // it did start one
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
