// The report and the anonymous daily aggregates under it, on a real
// PostgreSQL: cells (closed day × event) suppressed below K and every other
// figure made of shown cells only; each viewer's count capped per cell; closed
// days only, cells that never change (across an erasure, across time, across
// a purge); aggregation once per day across replicas with catch-up; the
// optional noise; the token guard; the CLI. The rules as properties over
// random data are in tests/unit/telemetry/report.test.ts.
import request from "supertest";
import type { Store } from "../../src/store/connection.js";
import { bearer, buildTestApp, newViewer, postIngest, TEST_ID_SECRET, TEST_SESSION_SECRET, type TestApp, randomSecret } from "../helpers/app.js";
import { runCliAsync } from "../helpers/cli.js";
import { createTestDatabase, seedRows, storeFor, type TestDatabase } from "../helpers/database.js";
import { aggregate, purge } from "../helpers/jobs.js";
import { seededRandomInt } from "../helpers/seeded.js";

const TOKEN = randomSecret();
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
/** Noon UTC `n` days ago: safely inside that day (n ≥ 2 is closed whatever the time of day). */
const noonDaysAgo = (now: number, n: number) => new Date(Date.parse(dayOf(now - n * DAY)) + 12 * HOUR);

/** `viewers` distinct (hashed) viewers, each storing `each` rows of `event` at `at`; returns their ids. */
async function seedViewers(event: string, at: Date, viewers: number, each = 1): Promise<string[]> {
  const ids = Array.from({ length: viewers }, () => newViewer("r"));
  for (const v of ids) await seedRows(db, t.hash(v), event, at, each);
  return ids;
}

async function report(query: string, app: TestApp = t) {
  const res = await request(app.app).get(`/report${query}`).set(auth);
  expect(res.status).toBe(200);
  return res.body;
}
const index = (body: { series: { days: string[] } }, at: Date) => body.series.days.indexOf(dayOf(at.getTime()));
/** The 7 closed days before `now`, spelled out: a run that crosses midnight must not shift them (days=7 would). */
const lastWeek = (now: number) => `?from=${dayOf(now - 7 * DAY)}&to=${dayOf(now - DAY)}`;

describe("cells, suppression and the contribution bound", () => {
  test("a cell on fewer than K viewers is null, and no total or rate includes it (a 2-day total no longer gives the hidden day away)", async () => {
    const now = await dbNow();
    const shown = noonDaysAgo(now, 3);
    const hidden = noonDaysAgo(now, 2);
    await seedViewers("suggestion_shown", shown, 6, 10); // 60, 6 viewers
    await seedViewers("suggestion_shown", hidden, 1, 7); // 7, one person
    await seedViewers("suggestion_accepted", shown, 5, 2); // 10, exactly K

    const body = await report(`?from=${dayOf(shown.getTime())}&to=${dayOf(hidden.getTime())}`);
    expect(body.minViewers).toBe(5);
    expect(body.series.counts.suggestion_shown).toEqual([60, null]);
    expect(body.events.suggestion_shown).toEqual({ count: 60, viewerDays: 6, daysShown: 1, daysSuppressed: 1 });
    expect(body.series.counts.suggestion_accepted).toEqual([10, null]);
    // The rate uses only the days where both of its cells are shown: 10 / 60.
    expect(body.rates.accept_rate).toBe(Math.round((10 / 60) * 10_000) / 10_000);
    // The one-day report of the shown day has the same total: differencing gives nothing.
    expect((await report(`?from=${dayOf(shown.getTime())}&to=${dayOf(shown.getTime())}`)).events.suggestion_shown.count).toBe(60);
    // Nobody at all is suppressed like one person: a lone viewer's active days do not stand out.
    expect(body.events.embeddings_opt_in).toEqual({ count: null, viewerDays: null, daysShown: 0, daysSuppressed: 2 });
  });

  test("a heavy viewer counts at most TELEMETRY_REPORT_MAX_PER_VIEWER (20) in a cell: one of five cannot dominate it", async () => {
    const now = await dbNow();
    const at = noonDaysAgo(now, 2);
    const [heavy] = await seedViewers("suggestion_skipped", at, 1, 1000);
    await seedViewers("suggestion_skipped", at, 4, 1);
    const body = await report(lastWeek(now));
    expect(body.maxPerViewer).toBe(20);
    expect(body.series.counts.suggestion_skipped[index(body, at)]).toBe(20 + 4);
    expect(heavy).toBeDefined();

    const capped = buildTestApp(db.url, { REPORT_TOKEN: TOKEN, TELEMETRY_REPORT_MAX_PER_VIEWER: "5" });
    try {
      await db.sql.query("TRUNCATE telemetry_aggregate, telemetry_aggregated_day");
      const again = await report(lastWeek(now), capped);
      expect(again.maxPerViewer).toBe(5);
      expect(again.series.counts.suggestion_skipped[index(again, at)]).toBe(5 + 4);
    } finally {
      await capped.close();
    }
  });

  test("K is configurable: K−1 and K at K = 3", async () => {
    const k3 = buildTestApp(db.url, { REPORT_TOKEN: TOKEN, TELEMETRY_REPORT_MIN_VIEWERS: "3" });
    try {
      const now = await dbNow();
      await seedViewers("suggestion_edited", noonDaysAgo(now, 3), 2);
      await seedViewers("suggestion_edited", noonDaysAgo(now, 2), 3);
      // An explicit range: a run that crosses midnight must not shift the days under the assertion.
      const body = await report(`?from=${dayOf(now - 3 * DAY)}&to=${dayOf(now - DAY)}`, k3);
      expect(body.minViewers).toBe(3);
      expect(body.series.counts.suggestion_edited).toEqual([null, 3, null]); // days −3, −2, and −1 (nobody)
      expect(body.events.suggestion_edited.count).toBe(3);
    } finally {
      await k3.close();
    }
  });
});

describe("closed days only, and a cell never changes", () => {
  test("today is in progress: reports minutes apart are the same while counts arrive, and today is named, not shown", async () => {
    const viewers = Array.from({ length: 6 }, () => newViewer("today"));
    const now = await dbNow();
    const range = `?from=${dayOf(now - 3 * DAY)}&to=${dayOf(now)}`;
    for (const v of viewers) expect((await postIngest(t, v, { event: "suggestion_shown", count: 3 })).status).toBe(200);
    const first = await report(range);
    for (const v of viewers) expect((await postIngest(t, v, { event: "suggestion_shown", count: 1 })).status).toBe(200);
    const second = await report(range);
    expect(second).toEqual(first);
    expect(first.inProgress).toContain(dayOf(now));
    expect(first.series.counts.suggestion_shown.at(-1)).toBeNull();
    // days=N covers closed days only.
    const last = await report("?days=3");
    expect(last.series.days).not.toContain(dayOf(now));
    expect(last.inProgress).toEqual([]);
  });

  test("reports before and after a viewer's erasure are the same: a closed cell is not recomputed", async () => {
    const now = await dbNow();
    const ids = await seedViewers("suggestion_accepted", noonDaysAgo(now, 2), 6, 3);
    const before = await report(lastWeek(now));
    expect(before.events.suggestion_accepted.count).toBe(18);
    const erased = await request(t.app).delete("/me").set(await bearer(ids[0]!));
    expect(erased.body).toEqual({ ok: true, deleted: 3 });
    expect(await report(lastWeek(now))).toEqual(before);
  });

  test("a closed day is read from its aggregate only: changing its raw rows afterwards moves nothing", async () => {
    const now = await dbNow();
    const at = noonDaysAgo(now, 2);
    await seedViewers("suggestion_shown", at, 5, 3);
    const before = await report(lastWeek(now));
    await db.sql.query("UPDATE telemetry_daily SET count = count + 100 WHERE day = $1::date", [dayOf(at.getTime())]);
    await seedViewers("suggestion_shown", at, 5, 1);
    expect(await report(lastWeek(now))).toEqual(before);
  });

  test("totals survive the purge of the raw rows; the purge aggregates the days it drops first (only those) even if the hourly job never ran", async () => {
    const now = await dbNow();
    const old = noonDaysAgo(now, 35); // purged at retention 30
    const recent = noonDaysAgo(now, 2);
    await seedViewers("suggestion_shown", old, 6, 2); // 12
    await seedViewers("suggestion_shown", recent, 5, 3); // 15
    const result = await purge(t.store, { retentionDays: 30, trigger: "cron" });
    expect(result.partitions).toEqual([{ day: dayOf(old.getTime()), rows: 12 }]);
    // The purge aggregated the dropped day, and left the recent one to the hourly job (a purge stays short).
    const claimed = async (at: number) => (await db.sql.query("SELECT 1 FROM telemetry_aggregated_day WHERE day = $1::date", [dayOf(at)])).rowCount;
    expect(result.daysAggregated).toBeGreaterThanOrEqual(1);
    expect(await claimed(old.getTime())).toBe(1);
    expect(await claimed(recent.getTime())).toBe(0);
    // …and no day before the first with rows (nothing there to drop): at most the days from it to the cutoff.
    const { rows: early } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_aggregated_day WHERE day < $1::date", [dayOf(old.getTime())]);
    expect(early[0].n).toBe(0);
    expect(result.daysAggregated).toBeLessThanOrEqual(6);
    const { rows: left } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_daily WHERE day = $1::date", [dayOf(old.getTime())]);
    expect(left[0].n).toBe(0);
    const body = await report(`?from=${dayOf(now - 40 * DAY)}&to=${dayOf(now - 2 * DAY)}`);
    expect(body.events.suggestion_shown.count).toBe(12 + 15);
    expect(body.series.counts.suggestion_shown[index(body, old)]).toBe(12);
  });

  test("aggregates are deleted TELEMETRY_AGGREGATE_RETENTION_DAYS after their raw rows; 0 deletes them with the rows; then the day is noData", async () => {
    const now = await dbNow();
    await seedViewers("embeddings_opt_in", noonDaysAgo(now, 45), 5);
    await seedViewers("embeddings_opt_in", noonDaysAgo(now, 33), 5);
    await aggregate(t.store);
    const days = async () => (await db.sql.query("SELECT to_char(day, 'YYYY-MM-DD') AS day FROM telemetry_aggregate ORDER BY day")).rows.map((r) => r.day);
    await purge(t.store, { retentionDays: 30, aggregateRetentionDays: 10, trigger: "cli" });
    expect(await days()).toEqual([dayOf(now - 33 * DAY)]);
    await purge(t.store, { retentionDays: 30, aggregateRetentionDays: 0, trigger: "cli" });
    expect(await days()).toEqual([]);
    const body = await report(`?from=${dayOf(now - 45 * DAY)}&to=${dayOf(now - 45 * DAY)}`);
    expect(body.noData).toEqual([dayOf(now - 45 * DAY)]);
    expect(body.events.embeddings_opt_in).toEqual({ count: 0, viewerDays: 0, daysShown: 0, daysSuppressed: 0 });
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
    for (let d = 2; d <= 9; d++) await seedViewers("suggestion_shown", noonDaysAgo(now, d), 2, d);
    const [a, b] = await Promise.all([aggregate(t.store), aggregate(second)]);
    const all = [...a.days, ...b.days].sort();
    expect(new Set(all).size).toBe(all.length); // no day twice
    for (let d = 2; d <= 9; d++) expect(all).toContain(dayOf(now - d * DAY));
    const { rows } = await db.sql.query("SELECT sum(count)::int AS n, count(*)::int AS cells FROM telemetry_aggregate");
    expect(rows[0]).toEqual({ n: 2 * (2 + 3 + 4 + 5 + 6 + 7 + 8 + 9), cells: 8 });
    expect((await aggregate(t.store)).days).toEqual([]);
  });

  test("after downtime, the next run catches up on every closed day of the window, whether anyone was active or not", async () => {
    const now = await dbNow();
    await seedViewers("suggestion_shown", noonDaysAgo(now, 7), 1);
    await seedViewers("suggestion_shown", noonDaysAgo(now, 3), 1);
    const result = await t.telemetry.aggregate();
    for (const d of [7, 6, 5, 4, 3, 2]) expect(result.days).toContain(dayOf(now - d * DAY));
    // Which days get cells does not depend on who was active: every closed day of the retention window (30 + 1).
    const { rows } = await db.sql.query<{ first: string; n: number }>("SELECT to_char(min(day), 'YYYY-MM-DD') AS first, count(*)::int AS n FROM telemetry_aggregated_day");
    expect(rows[0]!.n).toBe(32);
    expect(rows[0]!.first).toBe(dayOf(Date.parse(result.days.at(-1)!) - 31 * DAY));
  });
});

describe("differential privacy (TELEMETRY_REPORT_EPSILON)", () => {
  test("noise drawn once when a day is aggregated, stored noisy only, every event present, K applied to the noisy viewers", async () => {
    const random = seededRandomInt(42);
    const dp = buildTestApp(db.url, { REPORT_TOKEN: TOKEN, TELEMETRY_REPORT_EPSILON: "1" }, { random });
    try {
      const now = await dbNow();
      const exact: number[] = [];
      for (let d = 2; d <= 11; d++) {
        await seedViewers("suggestion_shown", noonDaysAgo(now, d), 8, 3);
        exact.push(24);
      }
      const body = await report("?days=12", dp);
      expect(body.epsilon).toBe(1);
      const { rows: cells } = await db.sql.query("SELECT to_char(day, 'YYYY-MM-DD') AS day, event, count::int, viewers FROM telemetry_aggregate ORDER BY day, event");
      // Every catalog event has a cell on every aggregated day (absence would say "exactly 0").
      const days = [...new Set(cells.map((c) => c.day))];
      expect(cells).toHaveLength(days.length * dp.telemetry.catalog.names.length);
      // Noisy, integer, never negative; the exact 24 is what most stored counts are not.
      const shownCells = cells.filter((c) => c.event === "suggestion_shown");
      expect(shownCells.filter((c) => c.count !== 24).length).toBeGreaterThan(5);
      expect(cells.every((c) => Number.isInteger(c.count) && c.count >= 0 && c.viewers >= 0)).toBe(true);
      // The report shows a cell exactly when its stored (noisy) viewers reach K, with the stored value.
      for (const c of shownCells) {
        const i = body.series.days.indexOf(c.day);
        if (i < 0) continue;
        expect(body.series.counts.suggestion_shown[i]).toBe(c.viewers >= 5 ? c.count : null);
      }
      const { rows: claims } = await db.sql.query("SELECT DISTINCT epsilon, max_per_viewer FROM telemetry_aggregated_day");
      expect(claims).toEqual([{ epsilon: 1, max_per_viewer: 20 }]);
      // Drawn once: reading again (even with another source of noise) gives the same report.
      const calls = random.calls;
      expect(await report("?days=12", dp)).toEqual(body);
      expect(random.calls).toBe(calls);

      const explain = (await request(dp.app).get("/explain")).body.aggregates.differentialPrivacy;
      expect(explain).toMatchObject({ enabled: true, epsilonPerCell: 1, epsilonPerViewerPerDay: dp.telemetry.catalog.names.length });
      expect(exact).toHaveLength(10);
    } finally {
      await dp.close();
    }
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

  test("the JSON has every catalog event and rate, `days` closed days ending yesterday, and the contract's errors for bad ranges", async () => {
    const body = await report("?days=30");
    expect(Object.keys(body.events)).toEqual(t.telemetry.catalog.names);
    expect(Object.keys(body.rates)).toEqual(t.telemetry.catalog.rates.map((r) => r.name));
    expect(body.series.days).toHaveLength(30);
    expect(body.to < dayOf(await dbNow())).toBe(true);
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
      ["?from=0000-01-01&to=0000-01-02", "invalid_range"],
      ["?from=2026-13-01&to=2026-12-01", "invalid_range"],
      ["?days=7&from=2026-01-01&to=2026-01-02", "invalid_range"],
      ["?from[a]=1&to=2026-01-01", "invalid_range"],
    ];
    for (const [query, error] of bad) {
      const res = await request(t.app).get(`/report${query}`).set(auth);
      expect([query, res.status, res.body]).toEqual([query, 400, { ok: false, error }]);
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
  const env = () => ({ DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET });

  test("--json is the same body as GET /report; the table shows <K and a sparkline; --csv one row per day", async () => {
    const now = await dbNow();
    const at = noonDaysAgo(now, 2);
    await seedViewers("suggestion_shown", at, 6, 2);
    await seedViewers("suggestion_accepted", at, 2);
    const json = await runCliAsync(["report", "--days", "7", "--json"], env());
    expect(json.stderr).toBe("");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await report("?days=7"));

    const table = await runCliAsync(["report", "--days", "7"], env());
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/suggestion_shown\s+12\s+6\s+6\s+/); // shown on one day; the six days nobody was active are hidden too
    expect(table.stdout).toMatch(/suggestion_accepted\s+<5\s+<5\s+7\s+/);
    expect(table.stdout).toMatch(/accept_rate\s+<5/);
    const oneDay = await runCliAsync(["report", "--from", dayOf(at.getTime()), "--to", dayOf(at.getTime())], env());
    expect(oneDay.stdout).toMatch(/suggestion_accepted\s+<5\s+<5\s+1\s+/);
    expect(oneDay.stdout).toMatch(/accept_rate\s+<5/);

    const csv = await runCliAsync(["report", "--from", dayOf(at.getTime()), "--to", dayOf(now)], { ...env() });
    expect(csv.code).toBe(0);
    const lines = (await runCliAsync(["report", "--from", dayOf(at.getTime()), "--to", dayOf(now), "--csv"], env())).stdout.trim().split("\n");
    expect(lines[0]).toBe(`day,${t.telemetry.catalog.names.join(",")}`);
    expect(lines[1]).toBe(`${dayOf(at.getTime())},12,,,,,,`);
    expect(lines.at(-1)).toBe(`${dayOf(now)},,,,,,,`); // in progress
  });

  test("bad options are usage errors (exit 2)", async () => {
    for (const args of [["--days", "0"], ["--from", "2026-01-01"], ["--from", "2026-13-01", "--to", "2026-12-01"], ["--json", "--csv"], ["--days", "3", "--from", "2026-01-01", "--to", "2026-01-02"], ["--from", "0000-01-01", "--to", "0000-01-02"]]) {
      const r = await runCliAsync(["report", ...args], env());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^tally: /);
    }
  });
});
