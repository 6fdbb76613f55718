// The group commit of POST /ingest: what the batcher runs for a batch of
// validated requests — the in-memory plan (batch-plan.ts), one call of
// tally_ingest (store/ingest.ts, which owns the outcomes and the one retry),
// the metrics, and each request's outcome. recordOne (record.ts) is the
// per-request side.
import type { Logger } from "pino";
import type { Store } from "../store/connection.js";
import { ingestBatch, type IngestOutcome } from "../store/ingest.js";
import { planBatch, type IngestRequest } from "./batch-plan.js";
import { createBatcher, type Batcher, type BatcherOptions } from "./batcher.js";
import { storeCall } from "./errors.js";
import { noMetrics, type TelemetryMetrics } from "./metrics.js";

export type IngestBatcher = Batcher<IngestRequest, IngestOutcome>;

export interface IngestCommitOptions extends BatcherOptions {
  /** Rows per viewer per minute; 0: no budget. */
  rateLimit: number;
}

/** Group commit: batches weighed in rows of counts (INGEST_BATCH_MAX_ROWS). */
export function createIngestBatcher(store: Store, logger: Logger, opts: IngestCommitOptions, metrics: TelemetryMetrics = noMetrics): IngestBatcher {
  const commit = async (requests: IngestRequest[]): Promise<IngestOutcome[]> => {
    const plan = planBatch(requests);
    const started = performance.now();
    const sent = await storeCall(logger, () => ingestBatch(store, plan.batch, opts.rateLimit), metrics.storeError);
    metrics.batchCommitted(requests.length, requests.reduce((n, r) => n + r.rows, 0), (performance.now() - started) / 1000);
    return plan.outcomes(sent);
  };
  return createBatcher(commit, opts, (request) => request.rows);
}
