// Erasure is complete: after DELETE /me (or `tally forget`) nothing keyed by the
// viewer remains in any table. The tables are found from the database catalog
// (any column whose name mentions "viewer"), so a table added later is covered
// without anyone remembering to add it here.
import request from "supertest";
import { bearer, newViewer, postIngest, type TestApp, useTestApp } from "../helpers/app.js";
import { runCliAsync } from "../helpers/cli.js";
import { seedRows, type TestDatabase } from "../helpers/database.js";
import { TEST_ID_SECRET } from "../helpers/app.js";

let db: TestDatabase;
let t: TestApp;
useTestApp((d, a) => {
  db = d;
  t = a;
});

interface ViewerColumn {
  table: string;
  column: string;
}

/**
 * Every ordinary or partitioned table (not a partition) with a column whose
 * name mentions "viewer", except whole-number columns: telemetry_aggregate.viewers
 * counts distinct viewers and cannot hold an id (tally_forget applies the same rule).
 */
async function viewerColumns(): Promise<ViewerColumn[]> {
  const { rows } = await db.sql.query<ViewerColumn>(`
    SELECT c.relname AS table, a.attname AS column
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname ILIKE '%viewer%'
      AND a.atttypid NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
    ORDER BY 1, 2`);
  return rows;
}

async function rowsOf(viewerId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { table, column } of await viewerColumns()) {
    const { rows } = await db.sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE "${column}" = $1`, [viewerId]);
    out[`${table}.${column}`] = Number(rows[0]!.n);
  }
  return out;
}

/** Leaves a trace of `viewer` in every kind of table: rows, rollup, an old day, an Idempotency-Key, a rate window. */
async function traces(viewer: string, key: string): Promise<void> {
  expect((await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, { "idempotency-key": key })).status).toBe(200);
  expect((await postIngest(t, viewer, { event: "suggestion_accepted" })).status).toBe(200);
  await seedRows(db, t.hash(viewer), "suggestion_skipped", new Date(Date.now() - 3 * 86_400_000), 2);
}

test("the catalog query finds the viewer tables (so the checks below are not vacuous)", async () => {
  const tables = (await viewerColumns()).map((c) => c.table);
  for (const known of ["telemetry_event", "telemetry_daily", "telemetry_idempotency", "telemetry_rate_window"]) {
    expect(tables).toContain(known);
  }
});

test("after DELETE /me nothing keyed by the viewer remains in any table, and nobody else's rows are touched", async () => {
  const viewer = newViewer();
  const bystander = newViewer();
  await traces(viewer, "erase-me-key-1");
  await traces(bystander, "bystander-key-1");
  const before = await rowsOf(t.hash(viewer));
  expect(Object.values(before).filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);

  const res = await request(t.app).delete("/me").set(await bearer(viewer));
  expect(res.body).toEqual({ ok: true, deleted: 6 });
  const after = await rowsOf(t.hash(viewer));
  expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
  expect(Object.values(await rowsOf(t.hash(bystander))).filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);
});

test("after erasure the old Idempotency-Key is forgotten too: re-sending it stores again", async () => {
  const viewer = newViewer();
  const key = "resend-after-erasure-1";
  await traces(viewer, key);
  await request(t.app).delete("/me").set(await bearer(viewer));
  const again = await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, { "idempotency-key": key });
  expect(again.status).toBe(200);
  expect(again.headers["idempotent-replayed"]).toBeUndefined();
  expect(again.body).toEqual({ ok: true, stored: 3 });
});

test("an Idempotency-Key is stored only as a keyed hash: the client's text is nowhere in the database", async () => {
  const viewer = newViewer();
  const key = "alice.smith_1985:555-0100";
  expect((await postIngest(t, viewer, { event: "suggestion_shown" }, { "idempotency-key": key })).status).toBe(200);
  const { rows } = await db.sql.query("SELECT * FROM telemetry_idempotency WHERE viewer_id = $1", [t.hash(viewer)]);
  expect(rows).toHaveLength(1);
  const stored = JSON.stringify(rows);
  expect(stored).not.toContain("alice");
  expect(stored).not.toContain("555-0100");
  // A retry is still recognised through the hash.
  const retry = await postIngest(t, viewer, { event: "suggestion_shown" }, { "idempotency-key": key });
  expect(retry.headers["idempotent-replayed"]).toBe("true");
});

test("`tally forget` erases the same tables as DELETE /me", async () => {
  const viewer = newViewer();
  await traces(viewer, "cli-forget-key-1");
  const r = await runCliAsync(["forget", "--viewer", viewer, "--json"], { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout)).toEqual({ dryRun: false, rows: 6 });
  expect(Object.entries(await rowsOf(t.hash(viewer))).filter(([, n]) => n > 0)).toEqual([]);
});

test("/explain lists every table and column holding viewer-derived data, with its retention, as the catalog has them", async () => {
  const res = await request(t.app).get("/explain");
  const listed = res.body.viewerData as { table: string; columns: string[]; retention: string }[];
  expect(Array.isArray(listed)).toBe(true);
  const fromCatalog = [...new Set((await viewerColumns()).map((c) => c.table))].sort();
  expect(listed.map((l) => l.table).sort()).toEqual(fromCatalog);
  for (const entry of listed) {
    expect(entry.columns.length).toBeGreaterThan(0);
    expect(entry.columns).toContain("viewer_id");
    expect(entry.retention).toMatch(/\d/);
  }
  const cli = await runCliAsync(["explain", "--json"], { DATABASE_URL: db.url });
  expect(JSON.parse(cli.stdout).viewerData).toEqual(listed);

  // The anonymous aggregates are listed on their own: the columns the catalog has, K and the retention.
  const { rows } = await db.sql.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'telemetry_aggregate' ORDER BY ordinal_position");
  const aggregates = res.body.aggregates as { table: string; columns: { name: string }[]; minViewers: number; retention: string; viewerId: boolean };
  expect(aggregates.table).toBe("telemetry_aggregate");
  expect(aggregates.columns.map((c) => c.name)).toEqual(rows.map((r) => r.column_name));
  expect(aggregates.viewerId).toBe(false);
  expect(aggregates.minViewers).toBe(5);
  expect(aggregates.retention).toMatch(/^400 days after the raw rows/);
  expect(JSON.parse(cli.stdout).aggregates).toEqual(aggregates);
});
