// Erasure is complete: after DELETE /me (or `tally forget`) nothing keyed by the
// viewer remains in any table. The tables are found from the database catalog
// (any column whose name mentions "viewer"), so a table added later is covered
// without anyone remembering to add it here. And an erasure stays erased:
// nothing tracked before it is stored after it, however late it arrives.
import request from "supertest";
import { BINDING_HEADER } from "../../src/contract/index.js";
import { createSubjectHasher } from "../../src/telemetry/identity.js";
import { LOCK_SPACES } from "../../src/store/locks.js";
import { bearer, bindingFor, buildTestApp, newViewer, postIngest, type TestApp, useTestApp, randomSecret } from "../helpers/app.js";
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

/** Leaves a trace of `viewer` in every kind of table: rows, rollup, an old day, an Idempotency-Key. */
async function traces(viewer: string, key: string): Promise<void> {
  expect((await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, { "idempotency-key": key })).status).toBe(200);
  expect((await postIngest(t, viewer, { event: "suggestion_accepted" })).status).toBe(200);
  await seedRows(db, t.hash(viewer), "suggestion_skipped", new Date(Date.now() - 3 * 86_400_000), 2);
}

test("the catalog query finds the viewer tables (so the checks below are not vacuous)", async () => {
  const tables = (await viewerColumns()).map((c) => c.table);
  for (const known of ["telemetry_event", "telemetry_daily", "telemetry_idempotency"]) {
    expect(tables).toContain(known);
  }
});

/** Tables keyed by a viewer's erasure subject: what outlives an erasure, on purpose. */
async function subjectTables(): Promise<string[]> {
  const { rows } = await db.sql.query<{ table: string }>(`
    SELECT c.relname AS table FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'subject' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`);
  return rows.map((r) => r.table);
}

test("after DELETE /me nothing keyed by the viewer remains in any table, and nobody else's rows are touched", async () => {
  const viewer = newViewer();
  const bystander = newViewer();
  await traces(viewer, "erase-me-key-1");
  await traces(bystander, "bystander-key-1");
  const before = await rowsOf(t.hash(viewer));
  expect(Object.values(before).filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);

  const res = await request(t.app).delete("/me").set(await bearer(viewer));
  expect(res.body).toEqual({ ok: true, deleted: 6 });
  const after = await rowsOf(t.hash(viewer));
  expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
  expect(Object.values(await rowsOf(t.hash(bystander))).filter((n) => n > 0).length).toBeGreaterThanOrEqual(3);
});

test("after erasure, a retry of an acknowledged request is refused (410 erased) and stores nothing; a binding issued after it stores again", async () => {
  const viewer = newViewer();
  const key = "resend-after-erasure-1";
  const before = await bindingFor(t, viewer);
  const first = await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, { "idempotency-key": key, [BINDING_HEADER]: before });
  expect(first.body).toEqual({ ok: true, stored: 3 });
  expect((await request(t.app).delete("/me").set(await bearer(viewer))).body).toEqual({ ok: true, deleted: 3 });

  // The acknowledgement was lost: the emitter re-sends the same request, or another tab sends what it held.
  const retry = await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, { "idempotency-key": key, [BINDING_HEADER]: before });
  expect([retry.status, retry.body]).toEqual([410, { ok: false, error: "erased" }]);
  const otherTab = await postIngest(t, viewer, { event: "suggestion_accepted" }, { "idempotency-key": "other-tab-1", [BINDING_HEADER]: before });
  expect([otherTab.status, otherTab.body]).toEqual([410, { ok: false, error: "erased" }]);
  expect(Object.entries(await rowsOf(t.hash(viewer))).filter(([, n]) => n > 0)).toEqual([]);

  // What the viewer tracks after the erasure, under a binding issued after it, is theirs again.
  const after = await bindingFor(t, viewer);
  const fresh = await postIngest(t, viewer, { event: "suggestion_shown", count: 2 }, { "idempotency-key": key, [BINDING_HEADER]: after });
  expect(fresh.body).toEqual({ ok: true, stored: 2 });
});

test("a request without a binding cannot be dated: while the tombstone lasts it is refused (410), so an old emitter's retry is not stored", async () => {
  const viewer = newViewer();
  const first = await postIngest(t, viewer, { event: "suggestion_shown", count: 2 }, { "idempotency-key": "unbound-1" });
  expect(first.body).toEqual({ ok: true, stored: 2 });
  await request(t.app).delete("/me").set(await bearer(viewer));
  const retry = await postIngest(t, viewer, { event: "suggestion_shown", count: 2 }, { "idempotency-key": "unbound-1" });
  expect([retry.status, retry.body]).toEqual([410, { ok: false, error: "erased" }]);
  expect(Object.entries(await rowsOf(t.hash(viewer))).filter(([, n]) => n > 0)).toEqual([]);
});

test("a binding asked for while the viewer is being erased is older than the erasure: its counts are refused", async () => {
  const viewer = newViewer();
  const { rows } = await db.sql.query<{ k: number }>("SELECT hashtext($1) AS k", [t.hash(viewer)]);
  // Hold the viewer's lock as an erasure in progress does (tally_forget takes it exclusively).
  const erasing = await db.sql.connect();
  try {
    await erasing.query("BEGIN");
    await erasing.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_SPACES.viewer, rows[0]!.k]);
    const started = Date.now();
    const during = await bindingFor(t, viewer); // answered at once: never waits on the erasure
    expect(Date.now() - started).toBeLessThan(2_000);
    await erasing.query("COMMIT");
    await request(t.app).delete("/me").set(await bearer(viewer));
    const late = await postIngest(t, viewer, { event: "suggestion_shown" }, { [BINDING_HEADER]: during });
    expect([late.status, late.body]).toEqual([410, { ok: false, error: "erased" }]);
  } finally {
    erasing.release();
  }
});

test("the tombstone holds no viewer_id (another keyed hash) and the hourly maintenance deletes it after 25 hours", async () => {
  const viewer = newViewer();
  await traces(viewer, "tombstone-key-1");
  await request(t.app).delete("/me").set(await bearer(viewer));
  const subject = createSubjectHasher(TEST_ID_SECRET)(viewer);
  expect(subject).not.toBe(t.hash(viewer));
  const stones = async () => (await db.sql.query("SELECT subject FROM telemetry_erasure WHERE subject = $1", [subject])).rows.length;
  expect(await stones()).toBe(1);
  const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_erasure WHERE subject = $1", [t.hash(viewer)]);
  expect(rows[0].n).toBe(0);

  await db.sql.query("UPDATE telemetry_erasure SET erased_at = now() - interval '24 hours' WHERE subject = $1", [subject]);
  await t.telemetry.maintain();
  expect(await stones()).toBe(1); // a binding from before the erasure could still be accepted by age: kept
  await db.sql.query("UPDATE telemetry_erasure SET erased_at = now() - interval '25 hours 1 minute' WHERE subject = $1", [subject]);
  await t.telemetry.maintain();
  expect(await stones()).toBe(0);
});

test("erasing yourself does not reset your row budget", async () => {
  const limited = buildTestApp(db.url, { TELEMETRY_RATE_LIMIT: "10" });
  try {
    const viewer = newViewer();
    expect((await postIngest(limited, viewer, { event: "suggestion_shown", count: 10 })).status).toBe(200);
    expect((await postIngest(limited, viewer, { event: "suggestion_shown" })).status).toBe(429);
    expect((await request(limited.app).delete("/me").set(await bearer(viewer))).status).toBe(200);
    // Same minute, counts tracked after the erasure: still over budget (before, the erasure deleted the
    // rate window and this stored 10 more).
    const again = await postIngest(limited, viewer, { event: "suggestion_shown", count: 10 }, { [BINDING_HEADER]: await bindingFor(limited, viewer) });
    expect(again.status).toBe(429);
    expect(again.headers["retry-after"]).toMatch(/^\d+$/);
  } finally {
    await limited.close();
  }
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

test("`tally forget` erases the same tables as DELETE /me, and leaves the same tombstone", async () => {
  const viewer = newViewer();
  await traces(viewer, "cli-forget-key-1");
  const binding = await bindingFor(t, viewer);
  const r = await runCliAsync(["forget", "--viewer", viewer, "--json"], { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout)).toEqual({ dryRun: false, rows: 6, matched: true, idSecretFingerprint: expect.stringMatching(/^[0-9a-f]{8}$/) });
  expect(Object.entries(await rowsOf(t.hash(viewer))).filter(([, n]) => n > 0)).toEqual([]);
  expect((await postIngest(t, viewer, { event: "suggestion_shown" }, { [BINDING_HEADER]: binding })).status).toBe(410);
});

test("`tally forget` says when nothing matched — a trailing space, another id secret — with the secret's fingerprint, and exits 1", async () => {
  const viewer = newViewer();
  await traces(viewer, "cli-nomatch-key-1");
  const right = await runCliAsync(["forget", "--viewer", viewer, "--dry-run"], { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  expect(right.code).toBe(0);
  const fingerprint = /id secret ([0-9a-f]{8})/.exec(right.stdout)![1]!;

  const spaced = await runCliAsync(["forget", "--viewer", `${viewer} `, "--dry-run"], { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  expect(spaced.code).toBe(1);
  expect(spaced.stderr).toContain("nothing is stored for that viewer id");
  expect(spaced.stderr).toContain(fingerprint);
  expect(spaced.stderr).toContain("leading or trailing white space");

  const otherSecret = randomSecret();
  const wrong = await runCliAsync(["forget", "--viewer", viewer], { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: otherSecret });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain("nothing is stored for that viewer id");
  expect(wrong.stderr).not.toContain(fingerprint);
  expect(wrong.stderr).not.toContain(otherSecret);
  // Nothing of the real viewer was touched.
  expect(Object.values(await rowsOf(t.hash(viewer))).some((n) => n > 0)).toBe(true);
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

  // What outlives an erasure on purpose is listed too, with why and for how long: every table keyed by a subject.
  const kept = res.body.keptThroughErasure as { table: string; columns: string[]; why: string; retention: string }[];
  expect(kept.map((k) => k.table).sort()).toEqual(await subjectTables());
  for (const entry of kept) {
    expect(entry.columns).toContain("subject");
    expect(entry.retention).toMatch(/\d+ hours?/);
  }
  expect(JSON.parse(cli.stdout).keptThroughErasure).toEqual(kept);

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
