// Anonymous daily aggregates — the report's cells: once a UTC day has closed,
// per event its count and the distinct viewers it rests on are written to
// telemetry_aggregate, which outlives the raw rows and never changes again
// (an erasure afterwards leaves it: recomputing would publish the difference).
//
// Each viewer's count in a cell is capped at TELEMETRY_REPORT_MAX_PER_VIEWER
// (one heavy viewer cannot dominate a cell of K), and with
// TELEMETRY_REPORT_EPSILON set each cell's count and viewers get discrete
// Laplace noise (noise.ts), drawn here once and stored noisy only: the exact
// figures pass through this process's memory and no table.
//
// Run hourly by the scheduler (catching up on every closed day still in the
// rollup, so downtime loses nothing), by the purge before it drops a day, and
// by a report before it reads. Exactly once per day across replicas: each
// day's claim is inserted in the same transaction as its cells.
import type { Logger } from "pino";
import { aggregateDay, pendingDays, type Cell } from "../store/aggregates.js";
import type { Store } from "../store/connection.js";
import { geometricNoise, type Fraction, type RandomInt } from "./noise.js";

/** A day is aggregated this long after it closed: a transaction begun before midnight may still commit its rows. */
export const AGGREGATE_GRACE_SECONDS = 120;

export interface PublicationRules {
  /** Each viewer's count in one cell counts at most this much. */
  maxPerViewer: number;
  /** ε per cell (split evenly between its count and its viewers), or null: no noise. */
  epsilon: Fraction | null;
  /** Every event a day's cells are written for under noise (absence would say "exactly 0"). */
  events: readonly string[];
  random: RandomInt;
  /**
   * Every closed day this far back gets its cells (and its claim), whether or
   * not anyone was active: which days have data must not depend on one person.
   * The raw retention and a day: nothing older than that can be in the rollup.
   */
  windowDays: number;
}

export interface AggregationResult {
  /** The days this call aggregated (another replica's are not listed). No figure of theirs: a day's exact total is not published anywhere. */
  days: string[];
  durationMs: number;
}

/**
 * The cells that are stored for a day's exact cells: as they are, or with
 * noise on every event's count (sensitivity: the contribution bound) and
 * viewers (sensitivity 1), ε/2 each, negative values clamped to 0
 * (post-processing: free).
 */
export function publishCells(exact: readonly Cell[], rules: PublicationRules): Cell[] {
  if (rules.epsilon === null) return exact.map((c) => ({ ...c }));
  const half: Fraction = { p: rules.epsilon.p, q: rules.epsilon.q * 2 };
  const byEvent = new Map(exact.map((c) => [c.event, c]));
  const events = [...new Set([...rules.events, ...byEvent.keys()])].sort();
  return events.map((event) => {
    const c = byEvent.get(event) ?? { event, count: 0, viewers: 0 };
    return {
      event,
      count: Math.max(0, c.count + geometricNoise(rules.random, half, rules.maxPerViewer)),
      viewers: Math.max(0, c.viewers + geometricNoise(rules.random, half, 1)),
    };
  });
}

/** `through` (YYYY-MM-DD): only days up to this one (the purge's: the days it is about to drop). */
export async function runAggregation(
  store: Store,
  rules: PublicationRules,
  logger?: Logger,
  { graceSeconds = AGGREGATE_GRACE_SECONDS, through = null }: { graceSeconds?: number; through?: string | null } = {},
): Promise<AggregationResult> {
  const started = performance.now();
  const bound = { maxPerViewer: rules.maxPerViewer, epsilon: rules.epsilon && rules.epsilon.p / rules.epsilon.q };
  const days: string[] = [];
  for (const day of await pendingDays(store, graceSeconds, rules.windowDays, through)) {
    const done = await aggregateDay(store, day, bound, (exact) => publishCells(exact, rules));
    if (done) days.push(day); // (null: another replica has it)
  }
  const result = { days, durationMs: Math.round(performance.now() - started) };
  if (days.length > 0) {
    logger?.info({ job: "aggregate", days: days.length, first: days[0], last: days.at(-1), ms: result.durationMs }, "daily aggregates written");
  }
  return result;
}
