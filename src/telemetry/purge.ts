// Retention: forget every row older than TELEMETRY_RETENTION_DAYS. The cron
// schedule and `tally purge` both run this use case. Whole expired day
// partitions are detached CONCURRENTLY (ingest is not blocked) and then dropped
// with their rollup rows; the boundary day's rows are deleted in bounded
// batches. One replica at a time (an advisory lock): nothing is dropped twice.
import type { Logger } from "pino";
import { AGGREGATE_RETENTION_DAYS_DEFAULT } from "../config.js";
import { DAY_MS } from "../contract/index.js";
import { withTryAdvisoryLock } from "../store/advisory-lock.js";
import { LOCKS } from "../store/locks.js";
import { deleteAggregatesBefore } from "../store/aggregates.js";
import type { Store } from "../store/connection.js";
import {
  countBoundaryRows,
  countPartitionRows,
  databaseNow,
  deleteBoundaryRows,
  deleteExpiredBookkeeping,
  detachPartition,
  dropDetachedPartition,
  ensurePartitionsAround,
  listPartitions,
  recordPurgeRun,
} from "../store/retention.js";
import type { AggregationResult } from "./aggregate.js";

const PURGE_BATCH_ROWS = 5_000;

export interface PurgeOptions {
  retentionDays: number;
  /** Days the daily aggregates outlive the raw rows (0: deleted with them); default as TELEMETRY_AGGREGATE_RETENTION_DAYS's. */
  aggregateRetentionDays?: number;
  dryRun?: boolean;
  trigger: "cron" | "cli";
  batchRows?: number;
  /**
   * Aggregates the closed days up to `through` (YYYY-MM-DD) not aggregated yet:
   * run before anything is dropped. Only the days about to go: catching up on
   * the others is the hourly aggregate job's, so a purge stays short.
   */
  aggregate: (through: string) => Promise<AggregationResult>;
}

/** A day partition the purge dropped (or would drop), with the rows it held. */
export interface DroppedDay {
  day: string;
  rows: number;
}

export interface PurgeResult {
  dryRun: boolean;
  /** Rows created before this instant are (or would be) deleted. */
  cutoff: Date;
  rows: number;
  partitionsDropped: number;
  /** Each whole day partition dropped (or that would be), with its rows. */
  partitions: DroppedDay[];
  /** Rows deleted (or that would be) from the boundary day, the one partly expired. */
  boundaryRows: number;
  /** Closed days aggregated first, so nothing is dropped before it is summed. */
  daysAggregated: number;
  /** Days of aggregates deleted (older than their own retention). */
  aggregateDaysDeleted: number;
  durationMs: number;
  /** True when another process held the purge lock and nothing was done. */
  skipped: boolean;
}

/** A partition holds only expired rows when its whole day ends at or before the cutoff. */
const wholeDayExpired = (day: string, cutoff: Date) => Date.parse(day) + DAY_MS <= cutoff.getTime();

export async function runPurge(store: Store, opts: PurgeOptions, logger?: Logger): Promise<PurgeResult> {
  const started = performance.now();
  const now = await databaseNow(store);
  const cutoff = new Date(now.getTime() - opts.retentionDays * DAY_MS);
  const finish = (partitions: DroppedDay[], boundaryRows: number, extra: { skipped?: boolean; daysAggregated?: number; aggregateDaysDeleted?: number } = {}): PurgeResult => ({
    dryRun: opts.dryRun === true,
    cutoff,
    rows: partitions.reduce((n, p) => n + p.rows, boundaryRows),
    partitionsDropped: partitions.length,
    partitions,
    boundaryRows,
    daysAggregated: extra.daysAggregated ?? 0,
    aggregateDaysDeleted: extra.aggregateDaysDeleted ?? 0,
    durationMs: Math.round(performance.now() - started),
    skipped: extra.skipped ?? false,
  });

  if (opts.dryRun) {
    const expired = (await listPartitions(store)).filter((p) => wholeDayExpired(p.day, cutoff));
    const partitions = await Promise.all(expired.map(async (p) => ({ day: p.day, rows: await countPartitionRows(store, p) })));
    return finish(partitions, await countBoundaryRows(store, cutoff));
  }

  const done = await withTryAdvisoryLock(store.pool, LOCKS.purge, async () => {
    await ensurePartitionsAround(store);
    // Every day that loses rows here is aggregated before any of them go (the cutoff's day loses its first hours).
    const aggregated = await opts.aggregate(cutoff.toISOString().slice(0, 10));
    const partitions: DroppedDay[] = [];
    for (const partition of await listPartitions(store)) {
      if (!wholeDayExpired(partition.day, cutoff)) continue;
      await detachPartition(store, partition);
      partitions.push({ day: partition.day, rows: await dropDetachedPartition(store, partition) });
    }
    const batch = opts.batchRows ?? PURGE_BATCH_ROWS;
    let boundaryRows = 0;
    for (let n = batch; n === batch; ) {
      n = await deleteBoundaryRows(store, cutoff, batch);
      boundaryRows += n;
    }
    await deleteExpiredBookkeeping(store, now);
    // Aggregates outlive their day's raw rows by their own retention, counted from the cutoff's day.
    const keepDays = opts.aggregateRetentionDays ?? AGGREGATE_RETENTION_DAYS_DEFAULT;
    const keepFrom = new Date(Date.parse(cutoff.toISOString().slice(0, 10)) - keepDays * DAY_MS).toISOString().slice(0, 10);
    const aggregateDaysDeleted = await deleteAggregatesBefore(store, keepFrom);
    const result = finish(partitions, boundaryRows, { daysAggregated: aggregated.days.length, aggregateDaysDeleted });
    await recordPurgeRun(store, { ...result, rowsDeleted: result.rows, trigger: opts.trigger }, cutoff);
    return result;
  });
  const result = done ?? finish([], 0, { skipped: true });
  // The jobs' one level policy: work done is info, nothing to do (or another replica's turn) debug, a failure error (the scheduler's).
  (result.skipped ? logger?.debug.bind(logger) : logger?.info.bind(logger))?.(
    {
      job: "purge",
      trigger: opts.trigger,
      partitionsDropped: result.partitionsDropped,
      daysAggregated: result.daysAggregated,
      aggregateDaysDeleted: result.aggregateDaysDeleted,
      cutoff: result.cutoff.toISOString(),
      ms: result.durationMs,
      skipped: result.skipped,
    },
    result.skipped ? "purge skipped: another replica holds the lock" : "purge finished",
  );
  return result;
}
