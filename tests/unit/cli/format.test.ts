// The CLI's text for people (src/cli/format.ts): figures read the same as on
// the report page and in README — `<K` for a suppressed figure, "12.3 %" for a
// rate, counted nouns in the right number.
import { formatReport, plural, reportCsv, sparkline, suppressed } from "../../../src/cli/format.js";
import type { Report } from "../../../src/telemetry/report.js";

const report = (over: Partial<Report> = {}): Report => ({
  from: "2026-11-01",
  to: "2026-11-03",
  minViewers: 5,
  maxPerViewer: 20,
  epsilon: null,
  events: {
    suggestion_shown: { count: 120, viewerDays: 30, daysShown: 2, daysSuppressed: 0 },
    suggestion_accepted: { count: null, viewerDays: null, daysShown: 0, daysSuppressed: 2 },
  },
  rates: { accept_rate: 0.1234, undo_rate: null, skip_rate: null },
  suppressedRates: ["undo_rate"],
  series: {
    days: ["2026-11-01", "2026-11-02", "2026-11-03"],
    counts: { suggestion_shown: [60, 60, null], suggestion_accepted: [null, null, null] },
    viewers: { suggestion_shown: [15, 15, null], suggestion_accepted: [null, null, null] },
  },
  inProgress: ["2026-11-03"],
  noData: [],
  ...over,
});

test("counted nouns read right at 0, 1 and many", () => {
  expect([plural(0, "day"), plural(1, "day"), plural(2, "day"), plural(1, "SQL function"), plural(3, "day partition")]).toEqual([
    "0 days",
    "1 day",
    "2 days",
    "1 SQL function",
    "3 day partitions",
  ]);
});

test("a suppressed figure reads <K with K's value, as on the page and in README", () => {
  expect(suppressed(5)).toBe("<5");
  expect(suppressed(12)).toBe("<12");
});

test("the report table: <K for suppressed totals and rates, — for a zero denominator, rates as '12.3 %', days in progress named", () => {
  const text = formatReport(report({ minViewers: 7 }));
  expect(text).toMatch(/^tally report 2026-11-01 \.\. 2026-11-03 \(2 closed UTC days; 2026-11-03 in progress, not shown\)/);
  expect(text).toMatch(/suggestion_accepted\s+<7\s+<7\s+2 /);
  expect(text).toMatch(/accept_rate\s+12\.3 %/);
  expect(text).toMatch(/undo_rate\s+<7/);
  expect(text).toMatch(/skip_rate\s+—/);
  expect(text).not.toContain("<5");
});

test("one closed day is singular; noise is named when the cells carry it", () => {
  const text = formatReport(report({ series: { days: ["2026-11-01"], counts: {}, viewers: {} }, inProgress: [], epsilon: 1 }));
  expect(text).toContain("(1 closed UTC day)");
  expect(text).toContain("noise: ε 1 per cell");
});

test("CSV: a suppressed cell or a day in progress is empty, never 0", () => {
  expect(reportCsv(report()).split("\n")).toEqual([
    "day,suggestion_shown,suggestion_accepted",
    "2026-11-01,60,",
    "2026-11-02,60,",
    "2026-11-03,,",
  ]);
});

test("sparkline: suppressed is a space, no counts a dot, the largest day the tallest bar", () => {
  expect(sparkline([null, 0, 1, 8])).toBe(" ·▁█");
});
