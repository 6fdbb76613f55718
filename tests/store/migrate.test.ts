import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { migrate, MigrationError, readFunctions, readMigrations } from "../../src/store/migrate.js";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
beforeEach(async () => {
  db = await createEmptyDatabase();
});
afterEach(() => db.drop());

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tally-migrations-"));
  for (const [name, sql] of Object.entries(files)) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

test("applies every migration once and records it like prisma migrate deploy", async () => {
  const all = readMigrations().map((m) => m.name);
  const first = await migrate(db.url);
  expect(first).toMatchObject({ applied: all, alreadyApplied: [] });
  expect(first.functions).toEqual(readFunctions().map((f) => f.name)); // every function file, on a fresh database
  const { rows } = await db.sql.query(
    `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at, applied_steps_count
     FROM _prisma_migrations ORDER BY migration_name`,
  );
  expect(rows).toEqual(
    readMigrations().map((m) => ({
      migration_name: m.name,
      checksum: m.checksum,
      finished: true,
      rolled_back_at: null,
      applied_steps_count: 1,
    })),
  );
  expect(rows[0].checksum).toMatch(/^[0-9a-f]{64}$/);
});

test("running twice is safe: the second run applies nothing", async () => {
  await migrate(db.url);
  const second = await migrate(db.url);
  expect(second.applied).toEqual([]);
  expect(second.alreadyApplied).toEqual(readMigrations().map((m) => m.name));
  const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM _prisma_migrations");
  expect(rows[0].n).toBe(readMigrations().length);
});

test("five concurrent runs (replicas starting together) apply each migration exactly once", async () => {
  const results = await Promise.all(Array.from({ length: 5 }, () => migrate(db.url)));
  const appliedBy = results.filter((r) => r.applied.length > 0);
  expect(appliedBy).toHaveLength(1);
  const { rows } = await db.sql.query("SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY 1");
  expect(rows.every((r: { n: number }) => r.n === 1)).toBe(true);
  expect(rows).toHaveLength(readMigrations().length);
});

test("a failing migration leaves neither its changes nor a record, and stops later ones", async () => {
  const dir = migrationsDir({
    "1_ok": "CREATE TABLE a (x int);",
    "2_bad": "CREATE TABLE b (x int); SELECT * FROM no_such_table;",
    "3_later": "CREATE TABLE c (x int);",
  });
  await expect(migrate(db.url, { migrationsDir: dir, functionsDir: null })).rejects.toThrow(MigrationError);
  await expect(migrate(db.url, { migrationsDir: dir, functionsDir: null })).rejects.toThrow(/2_bad failed/);
  const { rows } = await db.sql.query(
    "SELECT to_regclass('a') AS a, to_regclass('b') AS b, to_regclass('c') AS c",
  );
  expect(rows[0]).toEqual({ a: "a", b: null, c: null });
  const recorded = await db.sql.query("SELECT migration_name FROM _prisma_migrations");
  expect(recorded.rows).toEqual([{ migration_name: "1_ok" }]);
});

test("a migration edited after it was applied is refused", async () => {
  const dir = migrationsDir({ "1_ok": "CREATE TABLE a (x int);" });
  await migrate(db.url, { migrationsDir: dir, functionsDir: null });
  writeFileSync(path.join(dir, "1_ok", "migration.sql"), "CREATE TABLE a (x bigint);");
  await expect(migrate(db.url, { migrationsDir: dir, functionsDir: null })).rejects.toThrow(/changed after it was applied/);
});

test("a database that applied an earlier version of a migration with the same effect is recognised, and its record updated", async () => {
  await migrate(db.url);
  const name = "20261202000000_bytewise_ids";
  const earlier = "be3d8383ca97a02252419fa3097837f183d28416dec7d05dc6f80313a8494208"; // before it lifted its statement timeout and re-analyzed
  await db.sql.query("UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2", [earlier, name]);
  // Rows the earlier version left without statistics (it changed the columns' type and did not re-analyze).
  await db.sql.query(
    "INSERT INTO telemetry_daily (viewer_id, event, day, count) SELECT md5(g::text), 'suggestion_shown', current_date, 1 FROM generate_series(1, 40) g", // fewer than autovacuum's analyze threshold (50)
  );
  const stats = async () =>
    (await db.sql.query("SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'telemetry_daily' AND attname = 'viewer_id'")).rows[0].n;
  expect(await stats()).toBe(0);
  const again = await migrate(db.url);
  expect(await stats()).toBe(1); // re-analyzed once, when its record was updated
  expect(again.applied).toEqual([]);
  expect(again.alreadyApplied).toContain(name);
  const { rows } = await db.sql.query("SELECT checksum FROM _prisma_migrations WHERE migration_name = $1", [name]);
  expect(rows[0].checksum).toBe(readMigrations().find((m) => m.name === name)!.checksum);
  // Any other checksum is still a changed migration.
  await db.sql.query("UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2", ["0".repeat(64), name]);
  await expect(migrate(db.url)).rejects.toThrow(MigrationError);
});
