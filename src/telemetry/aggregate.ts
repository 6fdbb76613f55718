// Anonymous daily aggregates: once a UTC day has closed, its counts per event
// and the distinct viewers each rests on are written to telemetry_aggregate,
// which outlives the raw rows. Run hourly by the scheduler (catching up on
// every closed day still in the rollup, so downtime loses nothing) and by the
// purge before it drops a day. Exactly once per day across replicas: each
// day's claim is inserted in the same transaction as its aggregates.
import type { Logger } from "pino";
import { aggregatePendingDays } from "../store/aggregates.js";
import type { Store } from "../store/connection.js";

/** A day is aggregated this long after it closed: a transaction begun before midnight may still commit its rows. */
export const AGGREGATE_GRACE_SECONDS = 120;

export interface AggregationResult {
  /** The days this call aggregated (another replica's are not listed). */
  days: string[];
  /** Rows of counts those days summed. */
  rows: number;
  durationMs: number;
}

export async function runAggregation(store: Store, logger?: Logger, graceSeconds = AGGREGATE_GRACE_SECONDS): Promise<AggregationResult> {
  const started = performance.now();
  const done = await aggregatePendingDays(store, graceSeconds);
  const days = done.map((d) => d.day);
  const rows = done.reduce((n, d) => n + d.rows, 0);
  const result = { days, rows, durationMs: Math.round(performance.now() - started) };
  if (days.length > 0) {
    logger?.info({ job: "aggregate", days: days.length, first: days[0], last: days.at(-1), rows, ms: result.durationMs }, "daily aggregates written");
  }
  return result;
}
