// The cron side of the service: the purge on TELEMETRY_PURGE_CRON, an hourly
// maintenance (partitions for the coming days, spent idempotency keys, rate
// windows and tombstones deleted) and an hourly aggregation of the closed
// days not yet aggregated (a day closed at midnight is aggregated by 00:05
// UTC; after downtime the first tick catches up on every day missed). All are
// use cases of the telemetry service. Every replica's cron fires; for the
// purge and the aggregation, the one that claims the tick runs it. Failures
// are logged, never thrown: a database outage must not take the process down.
//
// tick() runs exactly what a cron tick runs, for a given time: tests drive
// ticks with it instead of waiting for a clock that a busy machine can starve.
import { schedule, type ScheduledTask } from "node-cron";
import type { Logger } from "pino";
import type { TelemetryService } from "../telemetry/service.js";

export type Job = "purge" | "aggregate" | "maintenance";

export interface Scheduler {
  /** Starts the cron schedules. */
  start(): void;
  /** Runs `job` as its cron tick at `at` would: claimed by one replica (purge, aggregate), or on every replica (maintenance). Resolves to whether it ran here. */
  tick(job: Job, at: Date): Promise<boolean>;
  stop(): Promise<void>;
}

const MAINTENANCE_CRON = "7 * * * *";
const AGGREGATION_CRON = "5 * * * *";


export interface SchedulerOptions {
  purgeCron: string;
  /** True for exactly one replica per (job, slot) (the composition root's Operations). */
  claimTick(job: string, slot: Date): Promise<boolean>;
}

export function createScheduler(telemetry: TelemetryService, opts: SchedulerOptions, logger: Logger): Scheduler {
  const work: Record<Job, () => Promise<unknown>> = {
    purge: () => telemetry.purge({ trigger: "cron" }),
    // The claim spares the other replicas the work; each day's own claim is what makes it exactly once.
    aggregate: () => telemetry.aggregate(),
    // Every replica: creating partitions and deleting spent bookkeeping are idempotent.
    maintenance: async () => {
      const { partitionsCreated } = await telemetry.maintain();
      if (partitionsCreated > 0) logger.info({ job: "maintenance", partitionsCreated }, "day partitions created");
    },
  };

  async function tick(job: Job, at: Date): Promise<boolean> {
    try {
      if (job !== "maintenance") {
        const slot = new Date(Math.floor(at.getTime() / 1000) * 1000);
        if (!(await opts.claimTick(job, slot))) {
          logger.debug({ job, slot: slot.toISOString() }, "tick claimed by another replica");
          return false;
        }
      }
      await work[job]();
      return true;
    } catch (err) {
      logger.error({ job, err }, `${job} failed`);
      return false;
    }
  }

  const tasks: ScheduledTask[] = [];
  return {
    start() {
      const crons: [Job, string][] = [
        ["purge", opts.purgeCron],
        ["aggregate", AGGREGATION_CRON],
        ["maintenance", MAINTENANCE_CRON],
      ];
      for (const [job, cron] of crons) tasks.push(schedule(cron, (ctx) => tick(job, ctx.date).then(() => undefined), { name: `tally-${job}`, noOverlap: true }));
    },
    tick,
    async stop() {
      await Promise.all(tasks.map((t) => t.destroy()));
    },
  };
}
