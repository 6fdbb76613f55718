// Retention: forget every row older than TELEMETRY_RETENTION_DAYS. The cron
// schedule and `tally purge` both run this use case. Whole expired day
// partitions are detached CONCURRENTLY (ingest is not blocked) and then dropped
// with their rollup rows; the boundary day's rows are deleted in bounded
// batches. One replica at a time (an advisory lock): nothing is dropped twice.
import type { Logger } from "pino";
import { AGGREGATE_RETENTION_DAYS_DEFAULT } from "../config.js";
import { LOCK_KEYS, withTryAdvisoryLock } from "../store/advisory-lock.js";
import { deleteAggregatesBefore } from "../store/aggregates.js";
import type { Store } from "../store/connection.js";
import {
  countOlderThan,
  databaseNow,
  deleteBoundaryRows,
  deleteExpiredBookkeeping,
  detachPartition,
  dropDetachedPartition,
  ensurePartitionsAround,
  listPartitions,
  recordPurgeRun,
} from "../store/retention.js";
import { runAggregation } from "./aggregate.js";

const PURGE_BATCH_ROWS = 5_000;
const DAY_MS = 86_400_000;

export interface PurgeOptions {
  retentionDays: number;
  /** Days the daily aggregates outlive the raw rows (0: deleted with them); default as TELEMETRY_AGGREGATE_RETENTION_DAYS's. */
  aggregateRetentionDays?: number;
  dryRun?: boolean;
  trigger: "cron" | "cli";
  batchRows?: number;
}

export interface PurgeResult {
  dryRun: boolean;
  /** Rows created before this instant are (or would be) deleted. */
  cutoff: Date;
  rows: number;
  partitionsDropped: number;
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
  const finish = (rows: number, partitionsDropped: number, skipped = false, daysAggregated = 0, aggregateDaysDeleted = 0): PurgeResult => ({
    dryRun: opts.dryRun === true,
    cutoff,
    rows,
    partitionsDropped,
    daysAggregated,
    aggregateDaysDeleted,
    durationMs: Math.round(performance.now() - started),
    skipped,
  });

  if (opts.dryRun) {
    const [rows, partitions] = await Promise.all([countOlderThan(store, cutoff), listPartitions(store)]);
    return finish(rows, partitions.filter((p) => wholeDayExpired(p.day, cutoff)).length);
  }

  const done = await withTryAdvisoryLock(store.pool, LOCK_KEYS.purge, async () => {
    await ensurePartitionsAround(store);
    // Every closed day is aggregated before any of its rows go (catching up if the hourly job missed it).
    const aggregated = await runAggregation(store, logger);
    let rows = 0;
    let dropped = 0;
    for (const partition of await listPartitions(store)) {
      if (!wholeDayExpired(partition.day, cutoff)) continue;
      await detachPartition(store, partition);
      rows += await dropDetachedPartition(store, partition);
      dropped += 1;
    }
    const batch = opts.batchRows ?? PURGE_BATCH_ROWS;
    for (let n = batch; n === batch; ) {
      n = await deleteBoundaryRows(store, cutoff, batch);
      rows += n;
    }
    await deleteExpiredBookkeeping(store, now);
    // Aggregates outlive their day's raw rows by their own retention, counted from the cutoff's day.
    const keepDays = opts.aggregateRetentionDays ?? AGGREGATE_RETENTION_DAYS_DEFAULT;
    const keepFrom = new Date(Date.parse(cutoff.toISOString().slice(0, 10)) - keepDays * DAY_MS).toISOString().slice(0, 10);
    const aggregateDaysDeleted = await deleteAggregatesBefore(store, keepFrom);
    const result = finish(rows, dropped, false, aggregated.days.length, aggregateDaysDeleted);
    await recordPurgeRun(store, { ...result, rowsDeleted: rows, trigger: opts.trigger });
    return result;
  });
  const result = done ?? finish(0, 0, true);
  logger?.info(
    {
      job: "purge",
      trigger: opts.trigger,
      rows: result.rows,
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
