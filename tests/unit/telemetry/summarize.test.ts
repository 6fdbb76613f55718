// src/telemetry/summarize.ts: a viewer's summary from the rows read — every
// catalog event present, zero-filled per day, nothing outside the catalog or window.
import { loadCatalog } from "../../../src/catalog/catalog.js";
import { buildSummary } from "../../../src/telemetry/summarize.js";

const catalog = loadCatalog(undefined);
const [first, second] = catalog.names as [string, string];
const now = new Date("2026-11-20T10:00:00Z");
const since = new Date("2026-11-18T10:00:00Z"); // a 2-day window: Nov 18 (partial), 19, 20

test("totals: every catalog event, zero when absent; an event not in the catalog is not shown", () => {
  const s = buildSummary(catalog, { now, since, rows: [{ event: first, n: 4 }, { event: "retired_event", n: 9 }] }, { days: 2, series: false });
  expect(s.days).toBe(2);
  expect(Object.keys(s.counts)).toEqual([...catalog.names]);
  expect(s.counts[first]).toBe(4);
  expect(s.counts[second]).toBe(0);
  expect(s).not.toHaveProperty("series");
  expect(s.counts).not.toHaveProperty("retired_event");
});

test("series: one entry per UTC day of the window, zero-filled; totals are the series' sums; days outside are dropped", () => {
  const rows = [
    { day: "2026-11-18", event: first, n: 1 },
    { day: "2026-11-20", event: first, n: 2 },
    { day: "2026-11-19", event: second, n: 5 },
    { day: "2026-11-10", event: second, n: 100 }, // outside the window
  ];
  const s = buildSummary(catalog, { now, since, rows }, { days: 2, series: true });
  expect(s.series!.days).toEqual(["2026-11-18", "2026-11-19", "2026-11-20"]);
  expect(s.series!.counts[first]).toEqual([1, 0, 2]);
  expect(s.series!.counts[second]).toEqual([0, 5, 0]);
  expect(s.counts[first]).toBe(3);
  expect(s.counts[second]).toBe(5);
});
