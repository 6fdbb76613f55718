// A database migrated by the last release (its three migrations verbatim, the
// SQL functions still inside them: tests/fixtures/schema-2026-11-22/) and
// filled through its own tally_ingest is upgraded by today's runner: the
// migrations it already has are recognised, the new ones and every function
// file are applied, the old functions are gone, and no counted row is lost.
import { fileURLToPath } from "node:url";
import { createLogger } from "../../src/logger.js";
import { migrate, readFunctions, readMigrations } from "../../src/store/migrate.js";
import { openStore } from "../../src/store/connection.js";
import { loadCatalog } from "../../src/catalog/catalog.js";
import { loadConfig } from "../../src/config.js";
import { createTelemetryService } from "../../src/telemetry/service.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";
import { TEST_ID_SECRET } from "../helpers/app.js";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database.js";

const LEGACY = fileURLToPath(new URL("../fixtures/schema-2026-11-22", import.meta.url));
const hash = createViewerHasher(TEST_ID_SECRET);
let db: TestDatabase;

beforeAll(async () => {
  db = await createEmptyDatabase();
  await migrate(db.url, { migrationsDir: LEGACY, functionsDir: null });
  // Traffic through the release's own function: two viewers, one with an Idempotency-Key.
  await db.sql.query(
    "SELECT * FROM tally_ingest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[], $6::int)",
    [[hash("old-alice"), hash("old-bob")], ["alice-key-1", null], [1, 1, 2], ["suggestion_shown", "suggestion_accepted", "suggestion_shown"], [3, 2, 4], 600],
  );
  // An older day, and a purge run.
  await db.sql.query("SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 3, (now() AT TIME ZONE 'UTC')::date - 3)");
  await db.sql.query(
    `WITH r AS (INSERT INTO telemetry_event (viewer_id, event, created_at)
                SELECT $1, 'suggestion_skipped', now() - interval '3 days' FROM generate_series(1, 5))
     INSERT INTO telemetry_daily (viewer_id, event, day, count)
     VALUES ($1, 'suggestion_skipped', ((now() - interval '3 days') AT TIME ZONE 'UTC')::date, 5)`,
    [hash("old-alice")],
  );
  await db.sql.query("INSERT INTO telemetry_purge_run (cutoff, rows_deleted, partitions_dropped, duration_ms, trigger) VALUES (now(), 11, 1, 5, 'cron')");
});
afterAll(() => db.drop());

async function snapshot() {
  const q = async (sql: string) => (await db.sql.query(sql)).rows;
  return {
    events: await q("SELECT viewer_id, event, count(*)::int AS n FROM telemetry_event GROUP BY 1, 2 ORDER BY 1, 2"),
    rollup: await q("SELECT viewer_id, event, to_char(day, 'YYYY-MM-DD') AS day, count::int FROM telemetry_daily ORDER BY 1, 2, 3"),
    purgeRuns: await q("SELECT rows_deleted::int, trigger FROM telemetry_purge_run"),
  };
}

test("today's runner upgrades it: nothing counted is lost, and the new code serves it", async () => {
  const before = await snapshot();
  expect(before.events.reduce((n: number, r: { n: number }) => n + r.n, 0)).toBe(14);

  const result = await migrate(db.url);
  const all = readMigrations().map((m) => m.name);
  expect(result.alreadyApplied).toEqual(all.slice(0, 3));
  expect(result.applied).toEqual(all.slice(3));
  expect(result.functions).toEqual(readFunctions().map((f) => f.name));
  expect(result.functionsDropped.sort()).toEqual(["tally_drop_partition", "tally_expired_partitions", "tally_summary_daily"]);
  expect(await snapshot()).toEqual(before);

  // The release's records now carry today's checksums; one definition of each function remains.
  const { rows: recorded } = await db.sql.query("SELECT migration_name, checksum FROM _prisma_migrations ORDER BY 1");
  expect(recorded).toEqual(readMigrations().map((m) => ({ migration_name: m.name, checksum: m.checksum })));
  const { rows: functions } = await db.sql.query(
    "SELECT proname, count(*)::int AS n FROM pg_proc WHERE proname LIKE 'tally\\_%' GROUP BY 1 ORDER BY 1",
  );
  expect(functions).toEqual(readFunctions().map((f) => ({ proname: f.name, n: 1 })).sort((a, b) => a.proname.localeCompare(b.proname)));

  // Changing the identifiers' collation drops their statistics; the migration re-analyzes, so a
  // closed day's partition (never written again, never re-analyzed by autovacuum) keeps its plans.
  const { rows: stats } = await db.sql.query(
    `SELECT count(*)::int AS n FROM pg_stats WHERE tablename LIKE 'telemetry\\_event\\_%' AND attname IN ('viewer_id', 'event')`,
  );
  expect(stats[0].n).toBeGreaterThanOrEqual(4); // both columns of both partitions holding rows

  // Idempotency keys were 24-hour bookkeeping in plain text: dropped by the upgrade (documented).
  expect((await db.sql.query("SELECT count(*)::int AS n FROM telemetry_idempotency")).rows[0].n).toBe(0);

  // Today's code reads and writes what the release stored.
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  const store = openStore({ databaseUrl: db.url, poolSize: 2 });
  const telemetry = createTelemetryService({ store, config, catalog: loadCatalog(), logger: createLogger("silent") });
  try {
    const summary = await telemetry.summarize("old-alice", { days: 7 });
    expect(summary.counts).toMatchObject({ suggestion_shown: 3, suggestion_accepted: 2, suggestion_skipped: 5 });
    expect(await telemetry.record("old-bob", { event: "suggestion_shown", count: 2 }, "new-key-1")).toEqual({ stored: 2, replayed: false });
    expect((await telemetry.summarize("old-bob", { days: 1 })).counts.suggestion_shown).toBe(6);
    expect((await telemetry.forget("old-alice")).events).toBe(10);
  } finally {
    await telemetry.close();
    await store.close();
  }

  // And once upgraded, the runner has nothing more to do.
  const again = await migrate(db.url);
  expect([again.applied, again.functions, again.functionsDropped]).toEqual([[], [], []]);
});
