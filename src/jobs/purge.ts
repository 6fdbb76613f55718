// Retention: forget every row older than TELEMETRY_RETENTION_DAYS. Shared by the
// cron schedule and `tally purge`. Whole expired day partitions are dropped (one
// brief statement each); rows of the boundary day are deleted in bounded batches
// so ingest is never blocked for long. One replica at a time (advisory lock).
import type { Logger } from "pino";
import { LOCK_KEYS, withTryAdvisoryLock } from "../store/advisory-lock.js";
import type { StoreConnection } from "../store/prisma.js";
import {
  countOlderThan,
  databaseNow,
  deleteExpiredBookkeeping,
  deleteOlderThan,
  dropPartition,
  ensurePartitionsAround,
  expiredPartitions,
  recordPurgeRun,
} from "../store/telemetry-repo.js";

export const PURGE_BATCH_ROWS = 5_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface PurgeOptions {
  retentionDays: number;
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
  durationMs: number;
  /** True when another process held the purge lock and nothing was done. */
  skipped: boolean;
}

export async function runPurge(store: StoreConnection, opts: PurgeOptions, logger?: Logger): Promise<PurgeResult> {
  const started = performance.now();
  const db = store.prisma;
  const cutoff = new Date((await databaseNow(db)).getTime() - opts.retentionDays * DAY_MS);
  const finish = (rows: number, partitionsDropped: number, skipped = false): PurgeResult => ({
    dryRun: opts.dryRun === true,
    cutoff,
    rows,
    partitionsDropped,
    durationMs: Math.round(performance.now() - started),
    skipped,
  });

  if (opts.dryRun) {
    const [rows, partitions] = await Promise.all([countOlderThan(db, cutoff), expiredPartitions(db, cutoff)]);
    return finish(rows, partitions.length);
  }

  const done = await withTryAdvisoryLock(store.pool, LOCK_KEYS.purge, async () => {
    await ensurePartitionsAround(db);
    let rows = 0;
    let dropped = 0;
    for (const partition of await expiredPartitions(db, cutoff)) {
      rows += await dropPartition(db, partition);
      dropped += 1;
    }
    const batch = opts.batchRows ?? PURGE_BATCH_ROWS;
    for (let n = batch; n === batch; ) {
      n = await deleteOlderThan(db, cutoff, batch);
      rows += n;
    }
    await deleteExpiredBookkeeping(db);
    const result = finish(rows, dropped);
    await recordPurgeRun(db, { ...result, rowsDeleted: rows, trigger: opts.trigger });
    return result;
  });
  const result = done ?? finish(0, 0, true);
  logger?.info(
    {
      job: "purge",
      trigger: opts.trigger,
      rows: result.rows,
      partitionsDropped: result.partitionsDropped,
      cutoff: result.cutoff.toISOString(),
      ms: result.durationMs,
      skipped: result.skipped,
    },
    result.skipped ? "purge skipped: another replica holds the lock" : "purge finished",
  );
  return result;
}
