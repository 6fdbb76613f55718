// The telemetry domain: every use case of tally, for the HTTP routes, the CLI
// and the scheduler alike. None of them touches the store directly.
//
//   record     validate -> binding -> budget -> group commit (POST /ingest)
//   bind       a session binding for the emitter's counts (GET /binding)
//   summarize  window, totals, series, zero-fill (GET /summary)
//   forget     hash -> erase everything of one viewer, leave its tombstone (DELETE /me, tally forget)
//   purge      retention (cron, tally purge)
//   aggregate  anonymous daily aggregates of closed days (hourly, and before a purge)
//   report     the k-anonymous report across viewers (GET /report, tally report)
//   maintain   partitions ahead, spent bookkeeping (hourly)
//   explain    the privacy manifest (GET /explain, tally explain)
//
// The service owns the group-commit batcher and the group reads of summaries:
// they start with the service and close() drains them (every request taken is
// committed or answered).
import type { Logger } from "pino";
import type { Catalog } from "../catalog/catalog.js";
import type { Config } from "../config.js";
import type { Store } from "../store/connection.js";
import { lastClosedDay, readCells } from "../store/aggregates.js";
import { bindingTime, countViewerRows, forgetViewer, type Erased } from "../store/erasure.js";
import { databaseNow, deleteExpiredBookkeeping, ensurePartitionsAround } from "../store/retention.js";
import { readSummaries, type SummaryRead, type SummaryRows } from "../store/summary.js";
import { AGGREGATE_GRACE_SECONDS, runAggregation, type AggregationResult, type PublicationRules } from "./aggregate.js";
import { createBatcher } from "./batcher.js";
import { storeCall, TelemetryError } from "./errors.js";
import { buildManifest, type Manifest } from "./explain.js";
import { createBindings, createKeyHasher, createViewerKeys } from "./identity.js";
import { secureRandomInt, type RandomInt } from "./noise.js";
import { runPurge, type PurgeOptions, type PurgeResult } from "./purge.js";
import { noMetrics, type JobRun, type TelemetryMetrics } from "./metrics.js";
import { createIngestBatcher } from "./ingest-commit.js";
import { recordOne, type Recorded } from "./record.js";
import { buildReport, parseReportRange, type Report } from "./report.js";
import { buildSummary, type Summary } from "./summarize.js";
import { createIngestParser, parseDays } from "./validation.js";

/** Summaries read together: those of one event-loop turn, at most 50 (no waiting for company). */
const SUMMARY_BATCHING = { maxWaitMs: 0, maxRows: 50 };

/** How long erasing one viewer may take: a heavy viewer has millions of rows. */
export const ERASURE_TIMEOUT_MS = 120_000;

export interface TelemetryDeps {
  store: Store;
  config: Config;
  catalog: Catalog;
  logger: Logger;
  metrics?: TelemetryMetrics;
  /** Where the report's noise comes from (crypto.randomInt; tests seed their own). */
  random?: RandomInt;
}

export interface TelemetryService {
  readonly catalog: Catalog;
  /** Throws telemetry_disabled when TELEMETRY_ENABLED is off (ingest and summary only; erasure always works). */
  assertEnabled(): void;
  /** Stores the counts of one ingest body for the session's viewer id; answered after commit. `binding`: the request's session binding, if any. */
  record(viewer: string, body: unknown, idempotencyKey: unknown, binding?: unknown): Promise<Recorded>;
  /** A session binding for the viewer, issued now: the emitter sends it with every count it tracks under this session. */
  bind(viewer: string): Promise<string>;
  summarize(viewer: string, query: { days?: unknown; series?: unknown }): Promise<Summary>;
  /** Erases everything of the session's viewer id and leaves its tombstone (or, dry run, counts what it would erase). */
  forget(viewer: string, opts?: { dryRun?: boolean }): Promise<Erased>;
  purge(opts: Omit<PurgeOptions, "retentionDays" | "aggregateRetentionDays" | "aggregate"> & { retentionDays?: number }): Promise<PurgeResult>;
  /** Writes the anonymous aggregates of every closed day not yet aggregated (once per day across replicas). */
  aggregate(): Promise<AggregationResult>;
  /** The k-anonymous report over `days` (default 30) or `from`..`to` (UTC days, inclusive). */
  report(query: { days?: unknown; from?: unknown; to?: unknown }): Promise<Report>;
  /** Hourly: partitions for the coming days, spent idempotency keys and rate windows deleted. */
  maintain(): Promise<{ partitionsCreated: number }>;
  /** The privacy manifest; `operator` adds figures about the data (the CLI's, never GET /explain's). */
  explain(opts?: { operator?: boolean }): Promise<Manifest>;
  /** Sends the waiting batch and waits for every batch under way. */
  close(): Promise<void>;
}

export function createTelemetryService({ store, config, catalog, logger, metrics = noMetrics, random = secureRandomInt }: TelemetryDeps): TelemetryService {
  const viewerKeys = createViewerKeys(config.idSecret, config.auth.cacheSize);
  const hashViewer = (viewer: string) => viewerKeys(viewer).viewerId;
  const bindings = createBindings(config.idSecret);
  const publication: PublicationRules = {
    maxPerViewer: config.telemetry.reportMaxPerViewer,
    epsilon: config.telemetry.reportEpsilon,
    events: catalog.names,
    random,
    windowDays: config.telemetry.retentionDays + 1,
  };
  const rateLimit = config.telemetry.rateLimit;
  const call = <T>(work: () => Promise<T>) => storeCall(logger, work, metrics.storeError);
  const batcher = createIngestBatcher(store, logger, { ...config.ingestBatching, rateLimit }, metrics);
  // Group reads: the summaries asked for in the same event-loop turn are read in one call.
  // (A failed read is classified and logged once per batch, not once per waiting request.)
  const summaries = createBatcher<SummaryRead, SummaryRows>((reads) => call(() => readSummaries(store, reads)), SUMMARY_BATCHING);
  const recording = { batcher, parseIngest: createIngestParser(catalog), viewerKeys, bindings, hashKey: createKeyHasher(config.idSecret), rateLimit, metrics };
  const aggregate = () => job("aggregate", () => runAggregation(store, publication, logger), (r) => ({ daysAggregated: r.days.length }));

  /** Runs a job, reporting its run (and failure) to the metrics. */
  async function job<T>(name: "purge" | "aggregate", work: () => Promise<T>, figures: (result: T) => Partial<JobRun>): Promise<T> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const result = await work();
      metrics.jobRun({ job: name, outcome: "ok", seconds: seconds(), ...figures(result) });
      return result;
    } catch (err) {
      metrics.jobRun({ job: name, outcome: "failed", seconds: seconds() });
      throw err;
    }
  }

  return {
    catalog,
    assertEnabled() {
      if (!config.telemetry.enabled) throw new TelemetryError("telemetry_disabled");
    },

    record: (viewer, body, idempotencyKey, binding) => recordOne(recording, viewer, body, idempotencyKey, binding),

    async bind(viewer) {
      const { viewerId } = viewerKeys(viewer);
      return bindings.issue(viewerId, await call(() => bindingTime(store, viewerId)));
    },

    async summarize(viewer, query) {
      const days = parseDays(query.days);
      const withSeries = query.series === "day";
      const started = performance.now();
      const read = await summaries.submit({ viewerId: hashViewer(viewer), days, perDay: withSeries });
      metrics.summaryRead((performance.now() - started) / 1000);
      return buildSummary(catalog, read, { days, series: withSeries });
    },

    async forget(viewer, opts = {}) {
      const { viewerId, subject } = viewerKeys(viewer);
      return call(() => (opts.dryRun ? countViewerRows(store, viewerId) : forgetViewer(store, viewerId, subject, ERASURE_TIMEOUT_MS)));
    },

    purge(opts) {
      const run = () =>
        runPurge(
          store,
          {
            retentionDays: config.telemetry.retentionDays,
            aggregateRetentionDays: config.telemetry.aggregateRetentionDays,
            aggregate: (through) => runAggregation(store, publication, logger, { through }),
            ...opts,
          },
          logger,
        );
      if (opts.dryRun) return run();
      return job("purge", run, (r) =>
        r.skipped ? { outcome: "skipped" } : { partitionsDropped: r.partitionsDropped, daysAggregated: r.daysAggregated },
      );
    },

    aggregate,

    async report(query) {
      const lastClosed = await call(() => lastClosedDay(store, AGGREGATE_GRACE_SECONDS));
      const range = parseReportRange(query, lastClosed);
      // Closed days not aggregated yet (the hourly job has not reached them) are, before they are read.
      if (range.from <= lastClosed) await call(aggregate);
      const { days, cells } = await call(() => readCells(store, range.from, range.to));
      const rules = {
        minViewers: config.telemetry.reportMinViewers,
        maxPerViewer: config.telemetry.reportMaxPerViewer,
        epsilon: publication.epsilon && publication.epsilon.p / publication.epsilon.q,
      };
      return buildReport(catalog, { range, lastClosed, days, cells }, rules);
    },

    async maintain() {
      const partitionsCreated = await ensurePartitionsAround(store);
      // Idempotency keys and rate windows are viewer-derived: kept no longer than their use.
      await deleteExpiredBookkeeping(store, await databaseNow(store));
      return { partitionsCreated };
    },

    explain: (opts) => buildManifest(config, catalog, store, opts),
    close: async () => {
      await Promise.all([batcher.drain(), summaries.drain()]);
    },
  };
}
