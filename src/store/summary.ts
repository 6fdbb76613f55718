// A viewer's counts per (UTC day, event) over the last `days` × 24 h, by the
// database's clock: the hot path of GET /summary, one prepared statement. The
// window starts at `since`; its first UTC day is partial and counted from the
// raw rows, every later day from the rollup (tally_summary_daily).
import type { Store } from "./connection.js";
import { query, statement } from "./sql.js";

export interface SummaryRows {
  /** The database's clock when the summary was read. */
  now: Date;
  /** now − days × 24 h: the window's start. */
  since: Date;
  rows: { day: string; event: string; n: number }[];
}

const SUMMARY = statement<[string, number], { now: Date; since: Date; day: string | null; event: string | null; n: number | null }>(
  "tally_summary",
  `WITH w AS (SELECT now() AS now, now() - make_interval(days => $2::int) AS since)
   SELECT w.now, w.since, to_char(s.day, 'YYYY-MM-DD') AS day, s.event, s.n::int AS n
   FROM w LEFT JOIN LATERAL tally_summary_daily($1, w.since) s ON true`,
);

export async function readSummary(store: Store, viewerId: string, days: number): Promise<SummaryRows> {
  const rows = await query(store.pool, SUMMARY, viewerId, days);
  const first = rows[0]!; // the window row is always there
  return {
    now: first.now,
    since: first.since,
    rows: rows.flatMap((r) => (r.day !== null && r.event !== null && r.n !== null ? [{ day: r.day, event: r.event, n: r.n }] : [])),
  };
}
