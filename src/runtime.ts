// The composition root shared by `tally serve` and the CLI: config -> catalog
// -> database (DATABASE_URL, or the embedded one) -> migrations -> store ->
// telemetry use cases. The only module besides the store's own that opens it:
// HTTP, CLI and scheduler get the TelemetryService (the use cases) and, for
// what is infrastructure rather than a use case — readiness, the pool's figures,
// the scheduler's tick claims — the Operations made here.
import type { Logger } from "pino";
import { loadCatalog } from "./catalog/catalog.js";
import type { Config } from "./config.js";
import { openStore } from "./store/connection.js";
import { locateDatabase } from "./store/database.js";
import { migrate, type MigrateResult } from "./store/migrate.js";
import type { Store } from "./store/connection.js";
import { claimJobSlot } from "./store/job-claims.js";
import { ensurePartitionsAround, ping } from "./store/retention.js";
import { storeCall } from "./telemetry/errors.js";
import { noMetrics, type TelemetryMetrics } from "./telemetry/metrics.js";
import { createTelemetryService, type TelemetryService } from "./telemetry/service.js";

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** What the edges need of the infrastructure itself (not use cases). */
export interface Operations {
  /** Resolves when the database answers (GET /readyz); an outage is store_unavailable. */
  ready(): Promise<void>;
  /** Connections of the store's pool, for metrics. */
  poolStats(): PoolStats;
  /** True for exactly one replica per (job, slot): scheduled work runs once. */
  claimTick(job: string, slot: Date): Promise<boolean>;
}

export function createOperations(store: Store, logger: Logger, metrics: TelemetryMetrics = noMetrics): Operations {
  return {
    ready: () => storeCall(logger, () => ping(store), metrics.storeError),
    poolStats: () => ({ total: store.pool.totalCount, idle: store.pool.idleCount, waiting: store.pool.waitingCount }),
    claimTick: (job, slot) => claimJobSlot(store, job, slot),
  };
}

export interface Runtime {
  telemetry: TelemetryService;
  operations: Operations;
  /** This process started (or adopted) an embedded PostgreSQL: close() stops it, and the process must not outlive its parent. */
  ownsEmbeddedDatabase: boolean;
  /** Drains the use cases, closes the pool, stops an embedded database it started. */
  close(): Promise<void>;
}

/** Start-up stopped, with one line for the operator. */
export class StartupError extends Error {
  override name = "StartupError";
}

export interface RuntimeOptions {
  /** Connections in the pool (the CLI needs few). Default DATABASE_POOL_SIZE. */
  poolSize?: number;
  /** Aborts start-up: whatever was started is stopped again. */
  signal?: AbortSignal;
  /** Where the use cases report for metrics (none by default). */
  metrics?: TelemetryMetrics;
}

/**
 * Opens everything below the HTTP surface. A failure (database unreachable,
 * migration failed) or an abort stops what was started and rejects.
 */
export async function openRuntime(config: Config, logger: Logger, opts: RuntimeOptions = {}): Promise<Runtime> {
  const catalog = loadCatalog(config.telemetry.catalogFile);
  const undo: (() => Promise<void>)[] = [];
  const checkpoint = () => {
    if (opts.signal?.aborted) throw new StartupError("start-up interrupted");
  };
  try {
    const database = await locateDatabase(config, logger);
    undo.push(() => database.stop());
    checkpoint();
    const migrations = await migrate(database.url, { lockWaitMs: config.migrationLockWaitMs });
    if (migrations.applied.length > 0 || migrations.functions.length > 0) {
      logger.info({ applied: migrations.applied, functions: migrations.functions, dropped: migrations.functionsDropped }, "migrations applied");
    }
    checkpoint();
    const store = openStore({
      databaseUrl: database.url,
      poolSize: opts.poolSize ?? config.databasePoolSize,
      statementTimeoutMs: config.statementTimeoutMs,
      logger,
    });
    undo.push(() => store.close());
    await ensurePartitionsAround(store);
    checkpoint();
    const telemetry = createTelemetryService({ store, config, catalog, logger, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
    let closing: Promise<void> | undefined;
    return {
      telemetry,
      operations: createOperations(store, logger, opts.metrics),
      ownsEmbeddedDatabase: database.ownsEmbedded,
      close: () =>
        (closing ??= (async () => {
          await telemetry.close();
          await store.close();
          await database.stop();
        })()),
    };
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
}

/** `tally migrate`: applies migrations and functions, then lets go of the database. */
export async function migrateDatabase(config: Config, logger?: Logger): Promise<MigrateResult> {
  const database = await locateDatabase(config, logger);
  try {
    return await migrate(database.url, { lockWaitMs: config.migrationLockWaitMs });
  } finally {
    await database.stop();
  }
}
