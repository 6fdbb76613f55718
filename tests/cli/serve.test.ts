// `tally serve` as a process, the way `npm start` and the Docker image run it.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { TEST_ID_SECRET, TEST_SESSION_SECRET } from "../helpers/app.js";
import { killAll, startTally } from "../helpers/processes.js";

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
