// `tally serve` as a process, the way `npm start` and the Docker image run it.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { TEST_ID_SECRET, TEST_SESSION_SECRET, randomSecret } from "../helpers/app.js";
import { killAll, startProcess, startTally } from "../helpers/processes.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const START = path.join(ROOT, "scripts/start.mjs");
/** Node's flags in `npm start` (V8's heap sizes); the Dockerfile's CMD must carry the same. */
const START_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start
  .match(/^node((?: --\S+)*) /)![1]!
  .trim()
  .split(/\s+/);
/** Production refuses public or trivial secrets (the tests' own are fine in test mode only). */
const STRONG_ID = randomSecret();
const STRONG_SESSION = randomSecret();

afterAll(killAll);

test("without DATABASE_URL it starts an embedded PostgreSQL, serves, and Ctrl-C stops both cleanly", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "tally-serve-"));
  const s = await startTally({ NODE_ENV: "development", TALLY_DATA_DIR: dataDir, TALLY_DEV_VIEWER: "true" });
  try {
    const base = s.url;
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ok: true });
    const res = await fetch(`${base}/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-dev-viewer": "dev-person" },
      body: JSON.stringify({ event: "suggestion_shown", count: 2 }),
    });
    expect(await res.json()).toEqual({ ok: true, stored: 2 });
    expect(s.output()).toMatch(/embedded PostgreSQL started/);
    const pidFile = path.join(dataDir, "postgres", "postmaster.pid");
    const pgPid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);

    s.child.kill("SIGINT");
    expect(await s.exited).toBe(0);
    expect(s.output()).toMatch(/"stopped"/);
    expect(existsSync(pidFile)).toBe(false);
    expect(() => process.kill(pgPid, 0)).toThrow(); // the database process is gone too
  } finally {
    await killAll();
  }
}, 60_000);

describe("with DATABASE_URL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  test("SIGTERM finishes in-flight work and exits 0; the rows acknowledged are stored", async () => {
    const s = await startTally({ DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET, TALLY_DEV_VIEWER: "true" });
    const base = s.url;
    const sends = Array.from({ length: 20 }, () =>
      fetch(`${base}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-dev-viewer": "sigterm-viewer" },
        body: JSON.stringify({ event: "suggestion_accepted", count: 3 }),
      }).then((r) => r.json() as Promise<{ stored?: number }>),
    );
    const acknowledged = (await Promise.all(sends)).reduce((n, b) => n + (b.stored ?? 0), 0);
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(acknowledged).toBe(60);
    expect(await countRows(db, { event: "suggestion_accepted" })).toBe(60);
    // every log line is JSON with no request data
    for (const line of s.output().trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    expect(s.output()).not.toContain("sigterm-viewer");
  }, 60_000);
});

describe("npm start (scripts/start.mjs)", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  test("the Docker image starts Node with npm start's flags", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(path.join(ROOT, "Dockerfile"), "utf8"))![1]!;
    expect((JSON.parse(cmd) as string[]).filter((a) => a.startsWith("--"))).toEqual(START_FLAGS);
  });

  test("in production it serves the build without building (no dev tools needed)", async () => {
    const s = await startProcess(
      [...START_FLAGS, START],
      { PATH: process.env.PATH ?? "", NODE_ENV: "production", PORT: "0", DATABASE_URL: db.url, TELEMETRY_ID_SECRET: STRONG_ID, SESSION_SECRET: STRONG_SESSION },
      (out) => {
        const line = out.split("\n").find((l) => l.includes('"tally listening'));
        return line ? (JSON.parse(line) as { port: number }).port : undefined;
      },
    );
    expect(s.output()).not.toMatch(/building/); // a build takes 13–34 s; README gives the measured time to listen
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  }, 60_000);

  test("in production without a build it stops with one line saying what to run", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tally-nobuild-"));
    mkdirSync(path.join(dir, "scripts"));
    for (const f of ["start.mjs", "build-state.mjs"]) copyFileSync(path.join(ROOT, "scripts", f), path.join(dir, "scripts", f));
    const r = spawnSync(process.execPath, [path.join(dir, "scripts/start.mjs")], { env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" }, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual(["tally: dist/cli/main.js is missing: run `npm run build` first (production serves the build, it never builds)"]);
  });
});
