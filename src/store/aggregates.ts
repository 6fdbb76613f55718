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
const REPORT_ROWS = statement<[string, string], { day: string | null; event: string; count: number | null; viewers: number; aggregated: boolean }>(
  "tally_report_rows",
  `WITH closed AS (SELECT day FROM telemetry_aggregated_day WHERE day BETWEEN $1::date AND $2::date),
        open AS (
          SELECT d.day, d.event, d.viewer_id, d.count FROM telemetry_daily d
          WHERE d.day BETWEEN $1::date AND $2::date AND d.count > 0
            AND NOT EXISTS (SELECT 1 FROM closed c WHERE c.day = d.day))
   SELECT to_char(a.day, 'YYYY-MM-DD') AS day, a.event, a.count::float8 AS count, a.viewers, true AS aggregated
   FROM telemetry_aggregate a WHERE a.day BETWEEN $1::date AND $2::date
   UNION ALL
   SELECT to_char(o.day, 'YYYY-MM-DD'), o.event, sum(o.count)::float8, count(*)::int, false FROM open o GROUP BY o.day, o.event
   UNION ALL
   SELECT NULL, o.event, NULL, count(DISTINCT o.viewer_id)::int, false FROM open o GROUP BY o.event`,
);

export interface ReportRow {
  /** YYYY-MM-DD; null: the distinct viewers of `event` across all open days. */
  day: string | null;
  event: string;
  count: number | null;
  viewers: number;
  aggregated: boolean;
}

export async function readReportRows(store: Store, from: string, to: string): Promise<ReportRow[]> {
  return query(store.pool, REPORT_ROWS, from, to);
}
