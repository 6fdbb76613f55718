// GET /summary's use case: a viewer's own counts over the last `days` × 24 h,
// with every catalog event present, and optionally a per-UTC-day series. The
// window is computed once (by the database's clock, in the one statement that
// reads it); totals, series and zero-filling happen here, once.
import type { Catalog } from "../catalog/catalog.js";
import { DAY_MS } from "../contract/index.js";
import type { SummaryRows } from "../store/summary.js";

export interface Summary {
  days: number;
  /** Every catalog event, in catalog order, with its count (0 when none). */
  counts: Record<string, number>;
  /** With series: the UTC days covering the window (first and last partial) and each event's count per day. */
  series?: { days: string[]; counts: Record<string, number[]> };
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** The UTC days from `since`'s to `now`'s, inclusive, as YYYY-MM-DD. */
function windowDays(since: Date, now: Date): string[] {
  const out: string[] = [];
  for (let t = Date.parse(utcDay(since)); t <= Date.parse(utcDay(now)); t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * Builds the answer from the rows of the window (per event, or per day and
 * event with the series); with the series, totals are the sums of the series,
 * so the two always agree.
 */
export function buildSummary(catalog: Catalog, read: SummaryRows, { days, series: withSeries }: { days: number; series: boolean }): Summary {
  const counts: Record<string, number> = {};
  for (const name of catalog.names) counts[name] = 0;
  if (!withSeries) {
    // An event no longer in the catalog is not shown.
    for (const r of read.rows) if (Object.hasOwn(counts, r.event)) counts[r.event]! += r.n;
    return { days, counts };
  }
  const calendar = windowDays(read.since, read.now);
  const index = new Map(calendar.map((d, i) => [d, i]));
  const series: Record<string, number[]> = {};
  for (const name of catalog.names) series[name] = new Array<number>(calendar.length).fill(0);
  for (const r of read.rows) {
    const at = r.day === undefined ? undefined : index.get(r.day);
    const perDay = series[r.event];
    // An event no longer in the catalog, or a day outside the window, is not shown.
    if (at === undefined || perDay === undefined) continue;
    perDay[at]! += r.n;
    counts[r.event]! += r.n;
  }
  return { days, counts, series: { days: calendar, counts: series } };
}
