// The k-anonymous report and the anonymous daily aggregates under it, on a
// real PostgreSQL: suppression at exactly K, totals equal to the raw rows (open
// days) and to the aggregates (closed days) across a purge, aggregation once
// per day across replicas with catch-up, the token guard, the CLI.
import request from "supertest";
import { runPurge } from "../../src/telemetry/purge.js";
import { runAggregation } from "../../src/telemetry/aggregate.js";
import type { Store } from "../../src/store/connection.js";
import { bearer, buildTestApp, newViewer, postIngest, type TestApp } from "../helpers/app.js";
import { runCliAsync } from "../helpers/cli.js";
import { createTestDatabase, seedRows, storeFor, type TestDatabase } from "../helpers/database.js";

const TOKEN = "report-token-for-tests-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };
const DAY = 86_400_000;
const HOUR = 3_600_000;

let db: TestDatabase;
let t: TestApp;

beforeEach(async () => {
  db = await createTestDatabase();
  t = buildTestApp(db.url, { REPORT_TOKEN: TOKEN });
});
afterEach(async () => {
  await t.close();
  await db.drop();
});

async function dbNow(): Promise<number> {
  const { rows } = await db.sql.query<{ now: Date }>("SELECT now() AS now");
  return rows[0]!.now.getTime();
}
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Noon UTC `n` days ago: safely inside that day. */
const noonDaysAgo = (now: number, n: number) => new Date(Date.parse(dayOf(now - n * DAY)) + 12 * HOUR);

/** `viewers` distinct (hashed) viewers, each storing `each` rows of `event` at `at`. */
async function seedViewers(event: string, at: Date, viewers: number, each = 1): Promise<void> {
  for (let i = 0; i < viewers; i++) await seedRows(db, t.hash(newViewer("r")), event, at, each);
}

async function report(query: string) {
  const res = await request(t.app).get(`/report${query}`).set(auth);
  expect(res.status).toBe(200);
  return res.body;
}

describe("suppression (K = TELEMETRY_REPORT_MIN_VIEWERS, default 5)", () => {
  test("K−1 viewers: count, viewers, their day cells and every rate built on them are null; K viewers: shown exactly", async () => {
    // Through the real ingest path: 4 viewers accept, 5 are shown a suggestion.
    const shown = Array.from({ length: 5 }, () => newViewer("shown"));
    for (const v of shown) expect((await postIngest(t, v, { event: "suggestion_shown", count: 3 })).status).toBe(200);
    for (const v of shown.slice(0, 4)) expect((await postIngest(t, v, { event: "suggestion_accepted", count: 2 })).status).toBe(200);

    const body = await report("?days=7");
    expect(body.minViewers).toBe(5);
    expect(body.events.suggestion_shown).toEqual({ count: 15, viewers: 5 });
    expect(body.events.suggestion_accepted).toEqual({ count: null, viewers: null });
    const today = body.series.days.length - 1;
    expect(body.series.counts.suggestion_shown[today]).toBe(15);
    expect(body.series.counts.suggestion_accepted[today]).toBeNull();
    expect(body.rates.accept_rate).toBeNull(); // numerator hidden
    expect(body.rates.undo_rate).toBeNull(); // denominator hidden
    // Nobody at all is no one's figure: shown as 0.
    expect(body.events.embeddings_opt_in).toEqual({ count: 0, viewers: 0 });

    // The fifth viewer accepts: now K viewers, everything about it is shown.
    expect((await postIngest(t, shown[4]!, { event: "suggestion_accepted", count: 2 })).status).toBe(200);
    const after = await report("?days=7");
    expect(after.events.suggestion_accepted).toEqual({ count: 10, viewers: 5 });
    expect(after.series.counts.suggestion_accepted[today]).toBe(10);
    expect(after.rates.accept_rate).toBe(Math.round((10 / 15) * 10_000) / 10_000);
  });

  test("one viewer storing many rows is still one viewer: suppressed however large the count", async () => {
    await seedRows(db, t.hash(newViewer()), "suggestion_skipped", new Date(await dbNow()), 5_000);
    const body = await report("?days=1");
    expect(body.events.suggestion_skipped).toEqual({ count: null, viewers: null });
  });

  test("K is configurable; K−1 and K at K = 3", async () => {
    const k3 = buildTestApp(db.url, { REPORT_TOKEN: TOKEN, TELEMETRY_REPORT_MIN_VIEWERS: "3" });
    try {
      const now = new Date(await dbNow());
      await seedViewers("suggestion_edited", now, 2);
      const two = await request(k3.app).get("/report?days=1").set(auth);
      expect(two.body.minViewers).toBe(3);
      expect(two.body.events.suggestion_edited.count).toBeNull();
      await seedViewers("suggestion_edited", now, 1);
      const three = await request(k3.app).get("/report?days=1").set(auth);
      expect(three.body.events.suggestion_edited).toEqual({ count: 3, viewers: 3 });
    } finally {
      await k3.close();
    }
  });
});

describe("aggregates and raw rows", () => {
  test("open days read the raw rows, closed days the aggregates; totals survive the purge of the raw rows", async () => {
    const now = await dbNow();
    const old = noonDaysAgo(now, 35); // will be purged (retention 30)
    const recent = noonDaysAgo(now, 2); // closed, kept
    await seedViewers("suggestion_shown", old, 6, 2); // 12
    await seedViewers("suggestion_shown", recent, 5, 3); // 15
    await seedViewers("suggestion_shown", new Date(now), 7, 1); // 7, today: open

    const range = `?from=${dayOf(now - 40 * DAY)}&to=${dayOf(now)}`;
    const before = await report(range);
    expect(before.events.suggestion_shown.count).toBe(12 + 15 + 7);
    // All days still open: viewers are exact across the range (18 distinct).
    expect(before.events.suggestion_shown.viewers).toBe(18);

    const aggregated = await t.telemetry.aggregate();
    expect(aggregated.days).toContain(dayOf(old.getTime()));
    expect(aggregated.days).toContain(dayOf(recent.getTime()));
    expect(aggregated.days).not.toContain(dayOf(now)); // today has not closed
    const { rows: agg } = await db.sql.query("SELECT to_char(day, 'YYYY-MM-DD') AS day, count::int, viewers FROM telemetry_aggregate WHERE event = 'suggestion_shown' ORDER BY day");
    expect(agg).toEqual([
      { day: dayOf(old.getTime()), count: 12, viewers: 6 },
      { day: dayOf(recent.getTime()), count: 15, viewers: 5 },
    ]);

    // A closed day is read from its aggregate, not its raw rows: change the raw rows and the report does not move.
    await db.sql.query("UPDATE telemetry_daily SET count = count + 100 WHERE day = $1::date", [dayOf(recent.getTime())]);
    const closed = await report(range);
    expect(closed.events.suggestion_shown.count).toBe(12 + 15 + 7);
    await db.sql.query("UPDATE telemetry_daily SET count = count - 100 WHERE day = $1::date", [dayOf(recent.getTime())]);

    // The purge drops the raw rows of the old day; its aggregate stays.
    const purged = await runPurge(t.store, { retentionDays: 30, trigger: "cli" });
    expect(purged.rows).toBe(12);
    const { rows: left } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_daily WHERE day = $1::date", [dayOf(old.getTime())]);
    expect(left[0].n).toBe(0);
    const after = await report(range);
    expect(after.events.suggestion_shown.count).toBe(12 + 15 + 7);
    const oldIndex = after.series.days.indexOf(dayOf(old.getTime()));
    expect(after.series.counts.suggestion_shown[oldIndex]).toBe(12);
    // Across aggregated days, distinct viewers are a lower bound: the busiest day's, or the open days' (7).
    expect(after.events.suggestion_shown.viewers).toBe(7);
  });

  test("a day is aggregated when the purge reaches it even if the hourly job never ran", async () => {
    const now = await dbNow();
    await seedViewers("suggestion_undo", noonDaysAgo(now, 33), 5, 4);
    const result = await runPurge(t.store, { retentionDays: 30, trigger: "cron" });
    expect(result.daysAggregated).toBeGreaterThanOrEqual(1);
    expect(result.rows).toBe(20);
    const body = await report(`?from=${dayOf(now - 34 * DAY)}&to=${dayOf(now)}`);
    expect(body.events.suggestion_undo).toEqual({ count: 20, viewers: 5 });
  });

  test("aggregates are deleted TELEMETRY_AGGREGATE_RETENTION_DAYS after their raw rows; 0 deletes them with the rows", async () => {
    const now = await dbNow();
    await seedViewers("embeddings_opt_in", noonDaysAgo(now, 45), 5); // purged 15 days ago at retention 30
    await seedViewers("embeddings_opt_in", noonDaysAgo(now, 33), 5); // purged 3 days ago
    await runAggregation(t.store);
    const days = async () => (await db.sql.query("SELECT to_char(day, 'YYYY-MM-DD') AS day FROM telemetry_aggregate ORDER BY day")).rows.map((r) => r.day);
    await runPurge(t.store, { retentionDays: 30, aggregateRetentionDays: 10, trigger: "cli" });
    expect(await days()).toEqual([dayOf(now - 33 * DAY)]);
    await runPurge(t.store, { retentionDays: 30, aggregateRetentionDays: 0, trigger: "cli" });
    expect(await days()).toEqual([]);
  });

  test("an erasure removes the viewer's raw rows but not a closed day's anonymous aggregate", async () => {
    const now = await dbNow();
    const viewers = Array.from({ length: 5 }, () => newViewer("erase"));
    for (const v of viewers) await seedRows(db, t.hash(v), "suggestion_accepted", noonDaysAgo(now, 3), 2);
    await t.telemetry.aggregate();
    expect(await t.telemetry.forget(viewers[0]!)).toBe(2);
    const body = await report("?days=7");
    expect(body.events.suggestion_accepted).toEqual({ count: 10, viewers: 5 });
  });
});

describe("aggregation runs once per day", () => {
  let second: Store;
  beforeEach(() => {
    second = storeFor(db);
  });
  afterEach(() => second.close());

  test("two replicas at once: every closed day aggregated by exactly one of them, nothing doubled", async () => {
    const now = await dbNow();
    for (let d = 1; d <= 8; d++) await seedViewers("suggestion_shown", noonDaysAgo(now, d), 2, d);
    const [a, b] = await Promise.all([runAggregation(t.store), runAggregation(second)]);
    const all = [...a.days, ...b.days].sort();
    expect(new Set(all).size).toBe(all.length); // no day twice
    for (let d = 1; d <= 8; d++) expect(all).toContain(dayOf(now - d * DAY));
    const { rows } = await db.sql.query("SELECT sum(count)::int AS n, count(*)::int AS days FROM telemetry_aggregate");
    expect(rows[0]).toEqual({ n: 2 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8), days: 8 });
    expect((await runAggregation(t.store)).days).toEqual([]);
  });

  test("after downtime, the next run catches up on every missed day (days with no counts included)", async () => {
    const now = await dbNow();
    await seedViewers("suggestion_shown", noonDaysAgo(now, 6), 1);
    await seedViewers("suggestion_shown", noonDaysAgo(now, 2), 1);
    const result = await t.telemetry.aggregate();
    expect(result.days).toEqual([6, 5, 4, 3, 2, 1].map((d) => dayOf(now - d * DAY)));
    const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_aggregated_day");
    expect(rows[0].n).toBe(6);
  });
});

describe("GET /report and the report page", () => {
  test("REPORT_TOKEN unset: the routes do not exist (404 not_found)", async () => {
    const off = buildTestApp(db.url);
    try {
      for (const path of ["/report", "/report?days=7", "/report/page", "/report/report.js"]) {
        const res = await request(off.app).get(path).set(auth);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ ok: false, error: "not_found" });
      }
    } finally {
      await off.close();
    }
  });

  test("no token, a wrong token, a viewer's session: 401 unauthorized; the right token: 200", async () => {
    const viewer = newViewer();
    const cases: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong-token" },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` },
      await bearer(viewer),
      { cookie: `session=${(await bearer(viewer)).authorization.slice(7)}` },
      { "x-dev-viewer": viewer },
    ];
    for (const headers of cases) {
      const res = await request(t.app).get("/report").set(headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ ok: false, error: "unauthorized" });
    }
    const ok = await request(t.app).get("/report").set(auth);
    expect(ok.status).toBe(200);
    expect(ok.headers["cache-control"]).toBe("no-store");
  });

  test("the JSON has every catalog event and rate, a series of `days` days ending today, and the contract's errors for bad ranges", async () => {
    const body = await report("?days=30");
    expect(Object.keys(body.events)).toEqual(t.telemetry.catalog.names);
    expect(Object.keys(body.rates)).toEqual(t.telemetry.catalog.rates.map((r) => r.name));
    expect(body.series.days).toHaveLength(30);
    expect(body.to).toBe(dayOf(await dbNow()));
    expect(body.from).toBe(body.series.days[0]);
    for (const counts of Object.values(body.series.counts)) expect(counts).toHaveLength(30);
    expect((await report("")).series.days).toHaveLength(30); // default
    expect((await report("?days=99999")).series.days).toHaveLength(3660); // clamped like the summary's window
    expect((await report("?days=0")).series.days).toHaveLength(1);
    expect((await report("?from=2026-02-27&to=2026-03-02")).series.days).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);

    const bad: [string, string][] = [
      ["?days=abc", "invalid_days"],
      ["?days=7&days=8", "invalid_days"],
      ["?from=2026-01-01", "invalid_range"],
      ["?from=2026-01-02&to=2026-01-01", "invalid_range"],
      ["?from=2026-02-30&to=2026-03-01", "invalid_range"],
      ["?from=2000-01-01&to=2026-01-01", "invalid_range"],
      ["?days=7&from=2026-01-01&to=2026-01-02", "invalid_range"],
      ["?from[a]=1&to=2026-01-01", "invalid_range"],
    ];
    for (const [query, error] of bad) {
      const res = await request(t.app).get(`/report${query}`).set(auth);
      expect([res.status, res.body]).toEqual([400, { ok: false, error }]);
    }
  });

  test("the page and its assets are served with a strict CSP and hold no figures", async () => {
    const page = await request(t.app).get("/report/page");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.text).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    for (const asset of ["/report/report.js", "/report/report.css", "/report/dashboard.css"]) {
      const res = await request(t.app).get(asset);
      expect(res.status).toBe(200);
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
    }
  });
});

describe("tally report (CLI, as a process)", () => {
  const env = () => ({
    DATABASE_URL: db.url,
    TELEMETRY_ID_SECRET: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    SESSION_SECRET: "test-session-secret-0123456789abcdef-0123456789",
  });

  test("--json is the same body as GET /report; the table shows <K and a sparkline; --csv one row per day", async () => {
    const now = new Date(await dbNow());
    await seedViewers("suggestion_shown", now, 6, 2);
    await seedViewers("suggestion_accepted", now, 2);
    const json = await runCliAsync(["report", "--days", "7", "--json"], env());
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await report("?days=7"));

    const table = await runCliAsync(["report", "--days", "7"], env());
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/suggestion_shown\s+12\s+6\s+·{6}█/);
    expect(table.stdout).toMatch(/suggestion_accepted\s+<5\s+<5/);

    const csv = await runCliAsync(["report", "--from", dayOf(now.getTime() - DAY), "--to", dayOf(now.getTime()), "--csv"], env());
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toBe(`day,${t.telemetry.catalog.names.join(",")}`);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(`${dayOf(now.getTime())},12,,0,0,0,0,0`);
  });

  test("bad options are usage errors (exit 2)", async () => {
    for (const args of [["--days", "0"], ["--from", "2026-01-01"], ["--from", "2026-13-01", "--to", "2026-12-01"], ["--json", "--csv"], ["--days", "3", "--from", "2026-01-01", "--to", "2026-01-02"]]) {
      const r = await runCliAsync(["report", ...args], env());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^tally: /);
    }
  });
});
