// The product team's report (tally report, GET /report): per catalog event the
// count and the distinct viewers over a range of UTC days, the catalog's
// rates and a per-day series. k-anonymous: no figure resting on fewer than
// TELEMETRY_REPORT_MIN_VIEWERS (K) distinct viewers is shown (null), nor a
// rate either side of which is hidden.
//
// Closed days are read from the anonymous aggregates, other days from the
// rollup. An aggregate keeps each day's distinct viewers but no ids, so the
// distinct viewers of an event across several aggregated days cannot be
// counted: `viewers` is exact across the days still read from the rollup and,
// with aggregated days in the range, the larger of that and the busiest
// aggregated day's viewers — a lower bound on the true figure, which is what
// makes it safe to suppress by.
import { z } from "zod";
import type { Catalog } from "../catalog/catalog.js";
import type { ReportRow } from "../store/aggregates.js";
import { TelemetryError } from "./errors.js";
import { clamp, integerLike } from "./validation.js";

/** Longest range a report covers: about ten years of days. */
export const REPORT_MAX_DAYS = 3660;
export const REPORT_DEFAULT_DAYS = 30;

const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export interface ReportRange {
  from: string;
  to: string;
}

export interface EventFigures {
  /** null: rests on fewer than K viewers. */
  count: number | null;
  viewers: number | null;
}

export interface Report {
  from: string;
  to: string;
  minViewers: number;
  events: Record<string, EventFigures>;
  rates: Record<string, number | null>;
  series: { days: string[]; counts: Record<string, (number | null)[]> };
}

const dayString = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && isoDay(Date.parse(`${s}T00:00:00Z`)) === s);

/** Like the summary's window: integer-like, clamped to 1..REPORT_MAX_DAYS. */
const daysParam = integerLike.transform((n) => clamp(n, 1, REPORT_MAX_DAYS));

/** GET /report's query, for the OpenAPI document: `days`, or `from` and `to` together. */
export const reportQuerySchema = z.object({
  days: daysParam.optional(),
  from: dayString.optional(),
  to: dayString.optional(),
});

/**
 * The range asked for: `days` (the last N UTC days, today included; default
 * 30) or `from` and `to` (inclusive), never both. `today` is the database's.
 */
export function parseReportRange(query: { days?: unknown; from?: unknown; to?: unknown }, today: string): ReportRange {
  const { days, from, to } = query;
  if (from !== undefined || to !== undefined) {
    if (days !== undefined) throw new TelemetryError("invalid_range");
    const f = dayString.safeParse(from);
    const t = dayString.safeParse(to);
    if (!f.success || !t.success) throw new TelemetryError("invalid_range");
    const span = (Date.parse(t.data) - Date.parse(f.data)) / DAY_MS + 1;
    if (span < 1 || span > REPORT_MAX_DAYS) throw new TelemetryError("invalid_range");
    return { from: f.data, to: t.data };
  }
  let n = REPORT_DEFAULT_DAYS;
  if (days !== undefined) {
    const parsed = daysParam.safeParse(days);
    if (!parsed.success) throw new TelemetryError("invalid_days");
    n = parsed.data;
  }
  return { from: isoDay(Date.parse(today) - (n - 1) * DAY_MS), to: today };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Whether a figure resting on `viewers` distinct viewers may be shown: never below K (nobody at all is no one's figure). */
const shown = (viewers: number, k: number) => viewers === 0 || viewers >= k;

export function buildReport(catalog: Catalog, range: ReportRange, k: number, rows: readonly ReportRow[]): Report {
  const days: string[] = [];
  for (let t = Date.parse(range.from); t <= Date.parse(range.to); t += DAY_MS) days.push(isoDay(t));
  const index = new Map(days.map((d, i) => [d, i]));

  const totals = new Map<string, { count: number; viewers: number }>();
  const perDay = new Map<string, { counts: number[]; viewers: number[] }>();
  for (const name of catalog.names) {
    totals.set(name, { count: 0, viewers: 0 });
    perDay.set(name, { counts: new Array<number>(days.length).fill(0), viewers: new Array<number>(days.length).fill(0) });
  }
  for (const r of rows) {
    const total = totals.get(r.event);
    const series = perDay.get(r.event);
    if (!total || !series) continue; // an event no longer in the catalog is not shown
    // Any day's viewers, or those across the open days together: the range has at least as many.
    // (Across the open days is exact and at least each open day's; alone it is the whole answer.)
    total.viewers = Math.max(total.viewers, r.viewers);
    if (r.day === null) continue;
    const at = index.get(r.day);
    if (at === undefined || r.count === null) continue;
    series.counts[at]! += r.count;
    series.viewers[at] = r.viewers;
    total.count += r.count;
  }

  const events: Record<string, EventFigures> = {};
  const counts: Record<string, (number | null)[]> = {};
  for (const name of catalog.names) {
    const total = totals.get(name)!;
    const visible = shown(total.viewers, k);
    events[name] = { count: visible ? total.count : null, viewers: visible ? total.viewers : null };
    const series = perDay.get(name)!;
    counts[name] = series.counts.map((n, i) => (shown(series.viewers[i]!, k) ? n : null));
  }
  const rates: Record<string, number | null> = {};
  for (const rate of catalog.rates) {
    const num = events[rate.numerator]!.count;
    const den = events[rate.denominator]!.count;
    rates[rate.name] = num === null || den === null || den === 0 ? null : round4(num / den);
  }
  return { from: range.from, to: range.to, minViewers: k, events, rates, series: { days, counts } };
}
