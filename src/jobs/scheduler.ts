// The cron side of the service: the purge on TELEMETRY_PURGE_CRON, and an hourly
// maintenance: the coming days' partitions exist, spent idempotency keys and
// rate windows are deleted. Failures are logged, never thrown:
// a database outage must not take the process down.
import { schedule, type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import type { StoreConnection } from "../store/prisma.js";
import { claimJobSlot, deleteExpiredBookkeeping, ensurePartitionsAround } from "../store/telemetry-repo.js";
import { runPurge } from "./purge.js";

export interface Scheduler {
  stop(): Promise<void>;
}

export const PARTITION_MAINTENANCE_CRON = "7 * * * *";

export function startScheduler(store: StoreConnection, opts: { purgeCron: string; retentionDays: number }, logger: Logger): Scheduler {
  const tasks: ScheduledTask[] = [
    schedule(
      opts.purgeCron,
      async (ctx) => {
        try {
          // Every replica's cron fires; the one that claims this tick runs it.
          const slot = new Date(Math.floor(ctx.date.getTime() / 1000) * 1000);
          if (!(await claimJobSlot(store.prisma, "purge", slot))) {
            logger.debug({ job: "purge", slot: slot.toISOString() }, "purge tick claimed by another replica");
            return;
          }
          await runPurge(store, { retentionDays: opts.retentionDays, trigger: "cron" }, logger);
        } catch (err) {
          logger.error({ job: "purge", err: { type: (err as Error).name, message: (err as Error).message } }, "purge failed");
        }
      },
      { name: "tally-purge", noOverlap: true },
    ),
    schedule(
      PARTITION_MAINTENANCE_CRON,
      async () => {
        try {
          const created = await ensurePartitionsAround(store.prisma);
          if (created > 0) logger.info({ job: "partitions", created }, "day partitions created");
          // Idempotency keys and rate windows are viewer-derived: kept no longer than their use.
          await deleteExpiredBookkeeping(store.prisma);
        } catch (err) {
          logger.warn({ job: "partitions", err: { type: (err as Error).name, message: (err as Error).message } }, "partition maintenance failed");
        }
      },
      { name: "tally-partitions", noOverlap: true },
    ),
  ];
  return {
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
    },
  };
}
