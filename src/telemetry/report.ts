// The product team's report (tally report, GET /report): how often each event
// happened across everyone, the catalog's rates and a per-day series — built
// so that no combination of reports reveals anything about fewer than K people.
//
// The publication rules (README "Reports", /explain):
//   - The unit is a cell: (closed UTC day, event), with its count and distinct
//     viewers, as aggregated once when the day closed (aggregate.ts: each
//     viewer's count capped, noise when ε is set). A cell is shown only when it
//     rests on at least K viewers (its noisy viewers, under noise). A cell
//     nobody contributed to is suppressed too: showing 0 beside <K would tell
//     the days one person was active from the days nobody was.
//   - Every other figure is computed from shown cells only: an event's count
//     and viewer-days are sums of its shown cells, a rate is the ratio of such
//     sums over the days where both of its cells are shown. So no difference or
//     combination of reports says anything about a suppressed cell.
//   - Only closed, aggregated days are shown, and a cell never changes once
//     written: two reads minutes apart, or around an erasure, are the same.
//     Days not closed yet (today) are listed as in progress, with no figures;
//     closed days with no aggregates at all as noData.
import { z } from "zod";
import type { Catalog } from "../catalog/catalog.js";
import { DAY_MS, REPORT_MAX_DAYS } from "../contract/index.js";
import type { AggregatedDayRow, Cell } from "../store/aggregates.js";
import { TelemetryError } from "./errors.js";
import { clamp, integerLike } from "./validation.js";

export const REPORT_DEFAULT_DAYS = 30;
/** The earliest and latest days a report may name. */
const FIRST_DAY = "1970-01-01";
const LAST_DAY = "9999-12-31";

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export interface ReportRange {
  from: string;
  to: string;
}

export interface EventFigures {
  /** Sum of the event's shown cells; null when none is shown and some are suppressed. */
  count: number | null;
  /** Sum of its shown cells' viewers: person-days, not distinct people (they cannot be counted across days without ids). */
  viewerDays: number | null;
  /** Closed days whose cell is shown / suppressed. */
  daysShown: number;
  daysSuppressed: number;
}

export interface Report {
  from: string;
  to: string;
  /** K. */
  minViewers: number;
  /** The contribution bound the cells were aggregated under. */
  maxPerViewer: number;
  /** ε per cell, when the cells carry noise; null otherwise. */
  epsilon: number | null;
  events: Record<string, EventFigures>;
  /** Each rate over the days where both of its cells are shown; null when there are none, or their denominator is 0. */
  rates: Record<string, number | null>;
  /** The rates that are null because no day has both of their cells shown (shown as <K), not for a zero denominator. */
  suppressedRates: string[];
  /** One value per day per event: the shown cell, or null (suppressed, or the day is in progress). */
  series: { days: string[]; counts: Record<string, (number | null)[]>; viewers: Record<string, (number | null)[]> };
  /** Days of the range not closed yet: no figures until they are. */
  inProgress: string[];
  /** Closed days of the range with no aggregates (before tally kept any, or past their retention). */
  noData: string[];
}

/** What a report is built from: the aggregated days of its range and their cells. */
export interface ReportInput {
  range: ReportRange;
  /** The last closed UTC day; later days are in progress. */
  lastClosed: string;
  days: readonly AggregatedDayRow[];
  cells: readonly (Cell & { day: string })[];
}

export interface ReportRules {
  minViewers: number;
  maxPerViewer: number;
  epsilon: number | null;
}

const dayString = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((s) => {
    const t = Date.parse(`${s}T00:00:00Z`);
    return s >= FIRST_DAY && s <= LAST_DAY && !Number.isNaN(t) && isoDay(t) === s;
  });

/** Like the summary's window: integer-like, clamped to 1..REPORT_MAX_DAYS. */
const daysParam = integerLike.transform((n) => clamp(n, 1, REPORT_MAX_DAYS));

/** GET /report's query, for the OpenAPI document: `days`, or `from` and `to` together. */
export const reportQuerySchema = z.object({
  days: daysParam.optional(),
  from: dayString.optional(),
  to: dayString.optional(),
});

/**
 * The range asked for: `days` (the last N closed UTC days; default 30) or
 * `from` and `to` (inclusive, 1970-01-01..9999-12-31), never both.
 * `lastClosed` is the last closed day by the database's clock.
 */
export function parseReportRange(query: { days?: unknown; from?: unknown; to?: unknown }, lastClosed: string): ReportRange {
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
  return { from: isoDay(Date.parse(lastClosed) - (n - 1) * DAY_MS), to: lastClosed };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/**
 * Whether a cell may be shown: it rests on at least K viewers (the noisy ones,
 * under noise, so that suppression itself follows the noise). 0 is below K
 * like 1..K−1: a cell nobody contributed to looks like one a single person did.
 */
export const cellShown = (viewers: number, k: number) => viewers >= k;

export function buildReport(catalog: Catalog, input: ReportInput, rules: ReportRules): Report {
  const { range } = input;
  const days: string[] = [];
  for (let t = Date.parse(range.from); t <= Date.parse(range.to); t += DAY_MS) days.push(isoDay(t));
  const aggregated = new Set(input.days.map((d) => d.day));
  const hasData = (day: string) => aggregated.has(day);
  const cellOf = new Map(input.cells.map((c) => [`${c.day} ${c.event}`, c]));

  const counts: Record<string, (number | null)[]> = {};
  const viewers: Record<string, (number | null)[]> = {};
  const events: Record<string, EventFigures> = {};
  for (const name of catalog.names) {
    const c: (number | null)[] = [];
    const v: (number | null)[] = [];
    let count = 0;
    let viewerDays = 0;
    let daysShown = 0;
    let daysSuppressed = 0;
    for (const day of days) {
      if (day > input.lastClosed || !hasData(day)) {
        c.push(null);
        v.push(null);
        continue;
      }
      // A closed day with no cell for the event: nobody did it (a noisy day has a cell for every event).
      const cell = cellOf.get(`${day} ${name}`) ?? { count: 0, viewers: 0 };
      if (cellShown(cell.viewers, rules.minViewers)) {
        c.push(cell.count);
        v.push(cell.viewers);
        count += cell.count;
        viewerDays += cell.viewers;
        daysShown += 1;
      } else {
        c.push(null);
        v.push(null);
        daysSuppressed += 1;
      }
    }
    counts[name] = c;
    viewers[name] = v;
    const none = daysShown === 0 && daysSuppressed > 0;
    events[name] = { count: none ? null : count, viewerDays: none ? null : viewerDays, daysShown, daysSuppressed };
  }

  const rates: Record<string, number | null> = {};
  const suppressedRates: string[] = [];
  for (const rate of catalog.rates) {
    const num = counts[rate.numerator]!;
    const den = counts[rate.denominator]!;
    let n = 0;
    let d = 0;
    let both = 0;
    days.forEach((_, i) => {
      if (num[i] != null && den[i] != null) {
        n += num[i]!;
        d += den[i]!;
        both += 1;
      }
    });
    rates[rate.name] = d === 0 ? null : round4(n / d);
    // Suppressed only if some closed day had a cell hidden: a range with no closed day hides nothing.
    if (both === 0 && (events[rate.numerator]!.daysSuppressed > 0 || events[rate.denominator]!.daysSuppressed > 0)) suppressedRates.push(rate.name);
  }
  return {
    from: range.from,
    to: range.to,
    minViewers: rules.minViewers,
    maxPerViewer: rules.maxPerViewer,
    epsilon: rules.epsilon,
    events,
    rates,
    suppressedRates,
    series: { days, counts, viewers },
    inProgress: days.filter((d) => d > input.lastClosed),
    noData: days.filter((d) => d <= input.lastClosed && !hasData(d)),
  };
}
