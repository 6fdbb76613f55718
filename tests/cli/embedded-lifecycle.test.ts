// The embedded PostgreSQL never outlives the process that owns it: not when
// the terminal closes (SIGHUP to the process group), not when the parent that
// started tally is killed with -9 (npm, a shell), and a server left running by
// a tally that was itself killed with -9 is adopted by the next one, whose
// Ctrl-C then stops it. Real processes, a real embedded server.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLI, cliEnv } from "../helpers/cli.js";
import { killAll, spawnNode } from "../helpers/processes.js";

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "tally-embedded-life-"));
});
afterAll(async () => {
  await killAll();
  const pid = postmaster();
  if (pid && alive(pid)) process.kill(pid, "SIGQUIT");
  rmSync(dataDir, { recursive: true, force: true });
});

const env = () => cliEnv({ NODE_ENV: "development", TALLY_DATA_DIR: dataDir, PORT: "0", LOG_LEVEL: "info" });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};
const postmaster = () => {
  const file = path.join(dataDir, "postgres", "postmaster.pid");
  return existsSync(file) ? Number(readFileSync(file, "utf8").split("\n")[0]) : 0;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (check()) return;
  throw new Error(`timed out waiting until ${what}`);
}

/** `sh -c "node tally serve & wait"` in its own process group: tally's parent is the shell. */
function underShell() {
  const child = spawn("sh", ["-c", `"${process.execPath}" "${CLI}" serve & echo "tally-pid $!"; wait`], { env: env(), detached: true });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return { child, output: () => out };
}
const listening = (out: () => string) => until(() => out().includes('"tally listening'), "tally listens");
const tallyPid = (out: () => string) => Number(/tally-pid (\d+)/.exec(out())![1]);

test("the parent is killed with -9 (npm, a shell): tally notices, stops, and stops its embedded PostgreSQL", async () => {
  const sh = underShell();
  await listening(sh.output);
  const pg = postmaster();
  const tally = tallyPid(sh.output);
  expect([alive(pg), alive(tally)]).toEqual([true, true]);
  process.kill(sh.child.pid!, "SIGKILL");
  await until(() => !alive(tally), "tally exits");
  await until(() => !alive(pg), "PostgreSQL stops");
}, 90_000);

test("the terminal closes (SIGHUP to the whole process group): tally stops, and its embedded PostgreSQL with it", async () => {
  const sh = underShell();
  await listening(sh.output);
  const pg = postmaster();
  const tally = tallyPid(sh.output);
  expect([alive(pg), alive(tally)]).toEqual([true, true]);
  process.kill(-sh.child.pid!, "SIGHUP");
  await until(() => !alive(tally), "tally exits");
  await until(() => !alive(pg), "PostgreSQL stops");
  expect(sh.output()).toContain('"signal":"SIGHUP"');
}, 90_000);

test("a server left by a tally killed with -9 is adopted by the next tally, whose Ctrl-C stops it", async () => {
  const first = spawnNode([CLI, "serve"], env());
  await listening(first.output);
  const pg = postmaster();
  first.child.kill("SIGKILL");
  await first.exited;
  await sleep(500);
  expect(alive(pg)).toBe(true); // nothing could stop it: its owner died at once

  const second = spawnNode([CLI, "serve"], env());
  await listening(second.output);
  expect(second.output()).toContain("adopted the embedded PostgreSQL left running");
  expect(postmaster()).toBe(pg);
  // A command run beside it uses that server and leaves it alone (its owner is alive).
  const report = spawnNode([CLI, "explain", "--json"], env());
  expect(await report.exited).toBe(0);
  expect(alive(pg)).toBe(true);

  second.child.kill("SIGINT");
  expect(await second.exited).toBe(0);
  await until(() => !alive(pg), "PostgreSQL stops");
}, 90_000);

test("with workers, a second stop signal while they drain (SIGTERM, then Ctrl-C) still drains them and stops PostgreSQL", async () => {
  const tally = spawnNode([CLI, "serve"], { ...env(), WEB_CONCURRENCY: "2" });
  await listening(tally.output);
  const pg = postmaster();
  expect(alive(pg)).toBe(true);
  tally.child.kill("SIGTERM");
  tally.child.kill("SIGINT");
  expect(await tally.exited).toBe(0);
  // The primary exited only after the database it owned had stopped: it is not left running.
  expect(alive(pg)).toBe(false);
  expect(tally.output()).toContain('"stopped"');
}, 90_000);
