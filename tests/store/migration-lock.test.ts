// Several processes may start at once: one migrates, the others wait for its
// lock — a bounded time, then exit 1 with one line saying why.
import pg from "pg";
import { MIGRATION_LOCK } from "../../src/store/locks.js";
import { runCliAsync } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

test("`tally migrate` waits a bounded time for another process's migration lock, then exits 1 with one line", async () => {
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK.toString()]);
    const t0 = Date.now();
    const r = await runCliAsync(["migrate"], { DATABASE_URL: db.url, MIGRATION_LOCK_WAIT_MS: "1000" });
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/another process has been migrating/);
  } finally {
    await holder.end();
  }
}, 20_000);

test("the SQL functions' lock spaces are src/store/locks.ts's (tally_lock_space is generated from it)", async () => {
  const { LOCK_SPACES } = await import("../../src/store/locks.js");
  for (const [name, space] of Object.entries(LOCK_SPACES)) {
    const { rows } = await db.sql.query<{ space: number }>("SELECT tally_lock_space($1) AS space", [name]);
    expect({ name, space: rows[0]!.space }).toEqual({ name, space });
  }
  // No SQL function spells a lock space as a number of its own.
  const { readdirSync, readFileSync } = await import("node:fs");
  const dir = new URL("../../prisma/functions/", import.meta.url);
  for (const f of readdirSync(dir)) {
    expect({ f, literal: /pg_(try_)?advisory_xact_lock(_shared)?\(\s*\d/.test(readFileSync(new URL(f, dir), "utf8")) }).toEqual({ f, literal: false });
  }
});
