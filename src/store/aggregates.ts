// Anonymous daily aggregates (telemetry_aggregate): written once per closed
// UTC day by tally_aggregate_day (prisma/functions/), read by reports beside
// the rollup of the days not yet aggregated, deleted by the purge once older
// than their own retention.
import type { Store } from "./connection.js";
import { query, statement } from "./sql.js";

const AGGREGATE_PENDING = statement<[number], { day: string; events: number; rows: string }>(
  "tally_aggregate_pending",
  "SELECT to_char(day, 'YYYY-MM-DD') AS day, events, rows FROM tally_aggregate_pending($1)",
);

export interface AggregatedDay {
  day: string;
  events: number;
  rows: number;
}

/**
 * Aggregates every closed day not yet aggregated, oldest first, in one call
 * (prisma/functions/tally_aggregate_pending.sql): a day closes `graceSeconds`
 * after midnight UTC. Returns the days this call aggregated.
 */
export async function aggregatePendingDays(store: Store, graceSeconds: number): Promise<AggregatedDay[]> {
  return (await query(store.pool, AGGREGATE_PENDING, graceSeconds)).map((r) => ({ day: r.day, events: r.events, rows: Number(r.rows) }));
}

/** Deletes the aggregates (and their day claims) of days before `day` (YYYY-MM-DD); returns the days deleted. */
export async function deleteAggregatesBefore(store: Store, day: string): Promise<number> {
  const prisma = await store.prisma();
  const before = new Date(`${day}T00:00:00Z`);
  const [, days] = await prisma.$transaction([
    prisma.aggregate.deleteMany({ where: { day: { lt: before } } }),
    prisma.aggregatedDay.deleteMany({ where: { day: { lt: before } } }),
  ]);
  return days.count;
}

/**
 * A report's rows for the UTC days lo..hi: per (day, event) the count and its
 * distinct viewers, from the aggregates for aggregated days and from the
 * rollup for the others ("open" days); and per event the distinct viewers
 * across all open days together (day null), which only the rollup can count.
 */
const REPORT_ROWS = statement<[string, string], { day: string | null; event: string; count: number | null; viewers: number }>(
  "tally_report_rows",
  `WITH open_days AS (
          SELECT ARRAY(SELECT g::date FROM generate_series($1::date, $2::date, interval '1 day') g
                       WHERE NOT EXISTS (SELECT 1 FROM telemetry_aggregated_day a WHERE a.day = g::date)) AS days),
        open AS (
          -- Only the open days' rollup rows are read (by the day index): filtering the whole
          -- range's rows against the aggregated days would scan every closed day too.
          SELECT d.day, d.event, d.viewer_id, d.count FROM telemetry_daily d
          WHERE d.day = ANY ((SELECT days FROM open_days)::date[]) AND d.count > 0)
   SELECT to_char(a.day, 'YYYY-MM-DD') AS day, a.event, a.count::float8 AS count, a.viewers
   FROM telemetry_aggregate a WHERE a.day BETWEEN $1::date AND $2::date
   UNION ALL
   SELECT to_char(o.day, 'YYYY-MM-DD'), o.event, sum(o.count)::float8, count(*)::int FROM open o GROUP BY o.day, o.event
   UNION ALL
   -- Across several open days (one open day's per-day rows already say it):
   SELECT NULL, o.event, NULL, count(DISTINCT o.viewer_id)::int FROM open o
   WHERE cardinality((SELECT days FROM open_days)) > 1 GROUP BY o.event`,
);

export interface ReportRow {
  /** YYYY-MM-DD; null: the distinct viewers of `event` across all open days (only when there are several). */
  day: string | null;
  event: string;
  count: number | null;
  viewers: number;
}

export async function readReportRows(store: Store, from: string, to: string): Promise<ReportRow[]> {
  return query(store.pool, REPORT_ROWS, from, to);
}
