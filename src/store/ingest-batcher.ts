// Group commit: concurrent ingest requests are coalesced into one call of
// tally_ingest (one statement, one transaction, one WAL flush) instead of one
// each. A batch is sent when it holds `maxRows` rows or `maxWaitMs` after its
// first request, whichever comes first; batches do not wait for each other, so
// Node and PostgreSQL work side by side. Every request is answered only after
// its own batch commits; a failed batch rejects exactly its own requests.
import { classifyStoreError } from "./errors.js";
import { ingest, type IngestOutcome, type IngestRequest } from "./telemetry-repo.js";
import type { Db } from "./prisma.js";

export interface BatcherOptions {
  /** Rows per viewer per minute (0: no budget), passed to tally_ingest. */
  rateLimit: number;
  /** Longest a request waits for others to join its batch. 0: only those of the same tick. */
  maxWaitMs: number;
  /** A batch is sent as soon as it holds this many rows. */
  maxRows: number;
}

export const DEFAULT_BATCHING = { maxWaitMs: 2, maxRows: 100 } as const;

interface Pending {
  request: IngestRequest;
  resolve(outcome: IngestOutcome): void;
  reject(err: unknown): void;
}

export interface IngestBatcher {
  submit(request: IngestRequest): Promise<IngestOutcome>;
  /** Batches sent so far (for tests and metrics). */
  readonly batches: number;
}

export function createIngestBatcher(db: Db, opts: BatcherOptions): IngestBatcher {
  let pending: Pending[] = [];
  let rows = 0;
  /** Cancels the pending batch's timer; set while a batch is waiting. */
  let cancelTimer: (() => void) | undefined;
  let batches = 0;

  const startTimer = () => {
    if (opts.maxWaitMs > 0) {
      const timer = setTimeout(flush, opts.maxWaitMs);
      cancelTimer = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(flush);
      cancelTimer = () => clearImmediate(immediate);
    }
  };

  function flush() {
    cancelTimer?.();
    cancelTimer = undefined;
    const batch = pending;
    pending = [];
    rows = 0;
    if (batch.length === 0) return;
    batches += 1;
    const requests = batch.map((p) => p.request);
    // A deadlock or serialization failure rolled the whole batch back: try it once more.
    ingest(db, requests, opts.rateLimit)
      .catch((err: unknown) => {
        if (classifyStoreError(err).kind !== "transient") throw err;
        return ingest(db, requests, opts.rateLimit);
      })
      .then(
      (outcomes) => batch.forEach((p, i) => p.resolve(outcomes[i]!)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }

  return {
    get batches() {
      return batches;
    },
    submit(request) {
      return new Promise<IngestOutcome>((resolve, reject) => {
        pending.push({ request, resolve, reject });
        for (const item of request.items) rows += item.count;
        if (rows >= opts.maxRows) return flush();
        if (!cancelTimer) startTimer();
      });
    },
  };
}
