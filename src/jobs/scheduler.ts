// The cron side of the service: the purge on TELEMETRY_PURGE_CRON, an hourly
// maintenance (partitions for the coming days, spent idempotency keys and rate
// windows deleted) and an hourly aggregation of the closed days not yet
// aggregated (a day closed at midnight is aggregated by 00:05 UTC; after
// downtime the first tick catches up on every day missed). Both are use cases of the telemetry service; every
// replica's cron fires, the one that claims a tick runs it. Failures are
// logged, never thrown: a database outage must not take the process down.
import { schedule, type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import type { TelemetryService } from "../telemetry/service.js";

export interface Scheduler {
  stop(): Promise<void>;
}

const MAINTENANCE_CRON = "7 * * * *";
const AGGREGATION_CRON = "5 * * * *";

const describe = (err: unknown) => ({ type: (err as Error).name, message: (err as Error).message });

export function startScheduler(telemetry: TelemetryService, opts: { purgeCron: string }, logger: Logger): Scheduler {
  /** Every replica's cron fires; the one that claims the tick (its second) runs `work`. Failures are logged. */
  const onOneReplica = (job: "purge" | "aggregate", cron: string, work: () => Promise<unknown>) =>
    schedule(
      cron,
      async (ctx) => {
        try {
          const slot = new Date(Math.floor(ctx.date.getTime() / 1000) * 1000);
          if (!(await telemetry.claimTick(job, slot))) {
            logger.debug({ job, slot: slot.toISOString() }, "tick claimed by another replica");
            return;
          }
          await work();
        } catch (err) {
          logger.error({ job, err: describe(err) }, `${job} failed`);
        }
      },
      { name: `tally-${job}`, noOverlap: true },
    );

  const tasks: ScheduledTask[] = [
    onOneReplica("purge", opts.purgeCron, () => telemetry.purge({ trigger: "cron" })),
    // The claim spares the other replicas the work; each day's own claim is what makes it exactly once.
    onOneReplica("aggregate", AGGREGATION_CRON, () => telemetry.aggregate()),
    // Every replica: creating partitions and deleting spent bookkeeping are idempotent.
    schedule(
      MAINTENANCE_CRON,
      async () => {
        try {
          const { partitionsCreated } = await telemetry.maintain();
          if (partitionsCreated > 0) logger.info({ job: "maintenance", partitionsCreated }, "day partitions created");
        } catch (err) {
          logger.warn({ job: "maintenance", err: describe(err) }, "maintenance failed");
        }
      },
      { name: "tally-maintenance", noOverlap: true },
    ),
  ];
  return {
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
    },
  };
}
