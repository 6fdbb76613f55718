// Anonymous daily aggregates (telemetry_aggregate): one row per (closed UTC
// day, event) — a report's cell — written once per day and never changed,
// read by reports, deleted by the purge once older than their own retention.
//
// A day is aggregated in one transaction: its claim in telemetry_aggregated_day
// first (a replica that finds the claim taken does nothing: once per day
// across replicas), then the day's cells read from the rollup with each
// viewer's count capped, handed to the caller (which may add noise), and
// stored as the caller returns them. The exact figures never reach a table.
import type { Store } from "./connection.js";
import { inTransaction, query, queryOne, statement } from "./sql.js";

/** One (day, event) cell. */
export interface Cell {
  event: string;
  count: number;
  viewers: number;
}

const PENDING_DAYS = statement<[number, number, string | null], { day: string }>(
  "tally_pending_days",
  `WITH closed AS (SELECT ((now() - make_interval(secs => $1)) AT TIME ZONE 'UTC')::date - 1 AS d)
   SELECT to_char(g, 'YYYY-MM-DD') AS day
   FROM closed, generate_series(least((SELECT min(t.day) FROM telemetry_daily t), closed.d - $2::int), least(closed.d, $3::date), interval '1 day') AS g
   WHERE NOT EXISTS (SELECT 1 FROM telemetry_aggregated_day a WHERE a.day = g::date)
   ORDER BY 1`,
);

/**
 * Closed days (a day closes `graceSeconds` after midnight UTC) nobody has
 * aggregated yet, oldest first: every day of the last `windowDays` closed
 * days, whether anyone was active or not (which days get cells must not
 * depend on who was there), and any older day the rollup still holds.
 * `through`: none later than this day (YYYY-MM-DD).
 */
export async function pendingDays(store: Store, graceSeconds: number, windowDays: number, through: string | null = null): Promise<string[]> {
  return (await query(store.pool, PENDING_DAYS, graceSeconds, windowDays, through)).map((r) => r.day);
}

const CLAIM = statement<[string, number, number | null], { day: string }>(
  "tally_claim_day",
  `INSERT INTO telemetry_aggregated_day (day, rows, max_per_viewer, epsilon) VALUES ($1::date, 0, $2, $3)
   ON CONFLICT (day) DO NOTHING RETURNING to_char(day, 'YYYY-MM-DD') AS day`,
);

const EXACT_CELLS = statement<[string, number], Cell>(
  "tally_exact_cells",
  `SELECT event, sum(least(count, $2))::float8 AS count, count(*)::int AS viewers
   FROM telemetry_daily WHERE day = $1::date AND count > 0 GROUP BY event ORDER BY event`,
);

const STORE_CELLS = statement<[string, string[], number[], number[]], never>(
  "tally_store_cells",
  `WITH cells AS (
     INSERT INTO telemetry_aggregate (day, event, count, viewers)
     SELECT $1::date, c.event, c.count, c.viewers FROM unnest($2::text[], $3::bigint[], $4::int[]) AS c(event, count, viewers)
     RETURNING count)
   UPDATE telemetry_aggregated_day SET rows = (SELECT coalesce(sum(count), 0) FROM cells) WHERE day = $1::date`,
);

/**
 * Aggregates one closed day: each viewer's count in a cell capped at
 * `maxPerViewer`, then `publish` turns the exact cells into what is stored
 * (the noise, when differential privacy is on). Returns how many cells were
 * stored, or null when another replica has the day. The exact figures go
 * nowhere else: no table, log or metric gets a day's total.
 */
export async function aggregateDay(
  store: Store,
  day: string,
  bound: { maxPerViewer: number; epsilon: number | null },
  publish: (exact: Cell[]) => Cell[],
): Promise<{ cells: number } | null> {
  return inTransaction(store.pool, async (client) => {
    const claimed = await query(client, CLAIM, day, bound.maxPerViewer, bound.epsilon);
    if (claimed.length === 0) return null;
    const exact = await query(client, EXACT_CELLS, day, bound.maxPerViewer);
    const cells = publish(exact);
    await query(client, STORE_CELLS, day, cells.map((c) => c.event), cells.map((c) => c.count), cells.map((c) => c.viewers));
    return { cells: cells.length };
  });
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

export interface AggregatedDayRow {
  day: string;
  /** The contribution bound and ε it was aggregated under (null: before they existed). */
  maxPerViewer: number | null;
  epsilon: number | null;
}

const AGGREGATED_DAYS = statement<[string, string], AggregatedDayRow>(
  "tally_aggregated_days",
  `SELECT to_char(day, 'YYYY-MM-DD') AS day, max_per_viewer AS "maxPerViewer", epsilon
   FROM telemetry_aggregated_day WHERE day BETWEEN $1::date AND $2::date ORDER BY day`,
);

const CELLS = statement<[string, string], Cell & { day: string }>(
  "tally_cells",
  `SELECT to_char(day, 'YYYY-MM-DD') AS day, event, count::float8 AS count, viewers
   FROM telemetry_aggregate WHERE day BETWEEN $1::date AND $2::date`,
);

/** The aggregated days from..to (UTC, inclusive) and their cells: everything a report is made of. */
export async function readCells(store: Store, from: string, to: string): Promise<{ days: AggregatedDayRow[]; cells: (Cell & { day: string })[] }> {
  const [days, cells] = await Promise.all([query(store.pool, AGGREGATED_DAYS, from, to), query(store.pool, CELLS, from, to)]);
  return { days, cells };
}

const CLOSED_UNTIL = statement<[number], { day: string }>(
  "tally_closed_until",
  `SELECT to_char(((now() - make_interval(secs => $1)) AT TIME ZONE 'UTC')::date - 1, 'YYYY-MM-DD') AS day`,
);

/** The last closed UTC day by the database's clock (a day closes `graceSeconds` after its midnight). */
export async function lastClosedDay(store: Store, graceSeconds: number): Promise<string> {
  return (await queryOne(store.pool, CLOSED_UNTIL, graceSeconds)).day;
}
