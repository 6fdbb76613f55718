// The report's publication rules as properties of buildReport, over random
// seeded data (fast-check) and many random ranges: every figure is a function
// of shown cells only, so no difference or combination of reports reveals a
// suppressed cell. No database: the store's part (aggregation once per day,
// cells never changing) is in tests/report/report.test.ts.
import fc from "fast-check";
import { loadCatalog } from "../../../src/catalog/catalog.js";
import type { AggregatedDayRow, Cell } from "../../../src/store/aggregates.js";
import { buildReport, cellShown, parseReportRange, type Report, type ReportRules } from "../../../src/telemetry/report.js";
import { TelemetryError } from "../../../src/telemetry/errors.js";

const catalog = loadCatalog(undefined);
const DAY = 86_400_000;
const FIRST = Date.parse("2026-10-01");
const DAYS = 20;
const dayAt = (i: number) => new Date(FIRST + i * DAY).toISOString().slice(0, 10);
const LAST_CLOSED = dayAt(DAYS - 3); // the last two days are in progress
const SEED = 20261201;

interface Data {
  k: number;
  /** cells[day][event] */
  cells: { count: number; viewers: number }[][];
}

const cellArb = fc.oneof(
  { weight: 2, arbitrary: fc.record({ viewers: fc.integer({ min: 1, max: 4 }), count: fc.integer({ min: 1, max: 60 }) }) }, // often below K
  { weight: 2, arbitrary: fc.record({ viewers: fc.integer({ min: 5, max: 40 }), count: fc.integer({ min: 5, max: 400 }) }) },
  { weight: 1, arbitrary: fc.constant({ viewers: 0, count: 0 }) },
);
const dataArb: fc.Arbitrary<Data> = fc.record({
  k: fc.integer({ min: 2, max: 6 }),
  cells: fc.array(fc.array(cellArb, { minLength: catalog.names.length, maxLength: catalog.names.length }), { minLength: DAYS, maxLength: DAYS }),
});
const rangeArb = fc.tuple(fc.integer({ min: 0, max: DAYS - 1 }), fc.integer({ min: 0, max: DAYS - 1 })).map(([a, b]) => ({ from: dayAt(Math.min(a, b)), to: dayAt(Math.max(a, b)) }));

function inputOf(data: Data, range: { from: string; to: string }) {
  const days: AggregatedDayRow[] = [];
  const cells: (Cell & { day: string })[] = [];
  data.cells.forEach((row, i) => {
    const day = dayAt(i);
    if (day > LAST_CLOSED) return; // not aggregated yet
    days.push({ day, maxPerViewer: 20, epsilon: null });
    row.forEach((c, e) => {
      if (c.viewers > 0) cells.push({ day, event: catalog.names[e]!, ...c });
    });
  });
  return { range, lastClosed: LAST_CLOSED, days, cells };
}
const rulesOf = (data: Data): ReportRules => ({ minViewers: data.k, maxPerViewer: 20, epsilon: null });
const reportOf = (data: Data, range: { from: string; to: string }): Report => buildReport(catalog, inputOf(data, range), rulesOf(data));

test("totals, viewer-days and rates are sums and ratios of the shown cells of the series, nothing else", () => {
  fc.assert(
    fc.property(dataArb, rangeArb, (data, range) => {
      const r = reportOf(data, range);
      for (const name of catalog.names) {
        const shown = r.series.counts[name]!.filter((v): v is number => v !== null);
        const e = r.events[name]!;
        if (e.daysShown === 0 && e.daysSuppressed > 0) expect(e.count).toBeNull();
        else expect(e.count).toBe(shown.reduce((s, v) => s + v, 0));
        expect(e.daysShown).toBe(shown.length);
      }
      for (const rate of catalog.rates) {
        const num = r.series.counts[rate.numerator]!;
        const den = r.series.counts[rate.denominator]!;
        let n = 0;
        let d = 0;
        num.forEach((v, i) => {
          if (v !== null && den[i] !== null) {
            n += v;
            d += den[i]!;
          }
        });
        expect(r.rates[rate.name]).toBe(d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test("changing what suppressed cells hold (keeping them suppressed; nobody at all included) changes no figure of any report", () => {
  fc.assert(
    fc.property(dataArb, fc.array(rangeArb, { minLength: 5, maxLength: 5 }), fc.integer({ min: 1, max: 1000 }), (data, ranges, salt) => {
      const altered: Data = {
        k: data.k,
        cells: data.cells.map((row, d) =>
          row.map((c, e) => (cellShown(c.viewers, data.k) ? c : { viewers: 1 + ((d * 7 + e * 13 + salt) % (data.k - 1)), count: (d * 31 + e * 17 + salt) % 997 })),
        ),
      };
      for (const range of ranges) expect(reportOf(altered, range)).toEqual(reportOf(data, range));
    }),
    { seed: SEED, numRuns: 200 },
  );
});

test("many random pairs of ranges: the difference of two totals is the difference of their shown cells, never a suppressed cell's value", () => {
  fc.assert(
    fc.property(dataArb, fc.array(fc.tuple(rangeArb, rangeArb), { minLength: 10, maxLength: 10 }), (data, pairs) => {
      for (const [a, b] of pairs) {
        const ra = reportOf(data, a);
        const rb = reportOf(data, b);
        for (const name of catalog.names) {
          const shownSum = (r: Report) => r.series.counts[name]!.reduce<number>((s, v) => s + (v ?? 0), 0);
          const diff = (ra.events[name]!.count ?? 0) - (rb.events[name]!.count ?? 0);
          expect(diff).toBe(shownSum(ra) - shownSum(rb));
        }
      }
    }),
    { seed: SEED, numRuns: 200 },
  );
});

test("the reproduction from the issue: a 2-day total no longer gives away the suppressed day (60 shown, 7 by one viewer hidden)", () => {
  const data: Data = { k: 5, cells: Array.from({ length: DAYS }, () => catalog.names.map(() => ({ count: 0, viewers: 0 }))) };
  const e = catalog.names.indexOf("suggestion_shown");
  data.cells[3]![e] = { count: 60, viewers: 6 };
  data.cells[4]![e] = { count: 7, viewers: 1 };
  const two = reportOf(data, { from: dayAt(3), to: dayAt(4) });
  expect(two.series.counts.suggestion_shown).toEqual([60, null]);
  expect(two.events.suggestion_shown).toEqual({ count: 60, viewerDays: 6, daysShown: 1, daysSuppressed: 1 });
  // Ranges that differ by exactly the suppressed day have the same total.
  expect(reportOf(data, { from: dayAt(3), to: dayAt(3) }).events.suggestion_shown!.count).toBe(60);
});

test("days after the last closed day are in progress: no figures, whatever the cells say", () => {
  fc.assert(
    fc.property(dataArb, (data) => {
      const r = reportOf(data, { from: dayAt(0), to: dayAt(DAYS - 1) });
      expect(r.inProgress).toEqual([dayAt(DAYS - 2), dayAt(DAYS - 1)]);
      for (const name of catalog.names) expect(r.series.counts[name]!.slice(-2)).toEqual([null, null]);
    }),
    { seed: SEED, numRuns: 50 },
  );
});

test("a cell is shown only on K viewers: nobody (0) is suppressed like 1..K−1, so a lone viewer's active days do not show", () => {
  expect([0, 1, 4, 5, 6].map((v) => cellShown(v, 5))).toEqual([false, false, false, true, true]);
  // The reviewer's case: one viewer active on two of six days, nobody else.
  const data: Data = { k: 5, cells: Array.from({ length: DAYS }, () => catalog.names.map(() => ({ count: 0, viewers: 0 }))) };
  const e = catalog.names.indexOf("suggestion_accepted");
  data.cells[2]![e] = { count: 3, viewers: 1 };
  data.cells[4]![e] = { count: 1, viewers: 1 };
  const r = reportOf(data, { from: dayAt(0), to: dayAt(5) });
  expect(r.series.counts.suggestion_accepted).toEqual([null, null, null, null, null, null]);
  expect(r.events.suggestion_accepted).toEqual({ count: null, viewerDays: null, daysShown: 0, daysSuppressed: 6 });
});

describe("parseReportRange", () => {
  test("days=N is the N closed days ending at the last closed day; from/to inclusive", () => {
    expect(parseReportRange({}, "2026-11-30")).toEqual({ from: "2026-11-01", to: "2026-11-30" });
    expect(parseReportRange({ days: "7" }, "2026-11-30")).toEqual({ from: "2026-11-24", to: "2026-11-30" });
    expect(parseReportRange({ days: "0" }, "2026-11-30")).toEqual({ from: "2026-11-30", to: "2026-11-30" });
    expect(parseReportRange({ from: "2026-02-27", to: "2026-03-02" }, "2026-11-30")).toEqual({ from: "2026-02-27", to: "2026-03-02" });
  });

  test.each([
    [{ from: "0000-01-01", to: "0000-01-02" }, "invalid_range"],
    [{ from: "1969-12-31", to: "1970-01-01" }, "invalid_range"],
    [{ from: "2026-02-30", to: "2026-03-01" }, "invalid_range"],
    [{ from: "2026-01-02", to: "2026-01-01" }, "invalid_range"],
    [{ from: "2026-01-01" }, "invalid_range"],
    [{ days: "7", from: "2026-01-01", to: "2026-01-02" }, "invalid_range"],
    [{ days: "abc" }, "invalid_days"],
  ])("%j is %s", (query, code) => {
    expect(() => parseReportRange(query, "2026-11-30")).toThrow(new TelemetryError(code as "invalid_range"));
  });
});
