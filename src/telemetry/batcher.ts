// Group commit: concurrent ingest requests are coalesced into one call of
// tally_ingest (one statement, one transaction, one WAL flush) instead of one
// each. A batch is sent when it holds `maxRows` rows or `maxWaitMs` after its
// first request, whichever comes first; batches do not wait for each other, so
// Node and PostgreSQL work side by side. Every request is answered only after
// its own batch commits; a failed batch rejects exactly its own requests. One
// timer per batch, none per request.
import type { IngestOutcome, IngestRequest } from "./batch-plan.js";
import { rowsOf } from "./batch-plan.js";

export interface BatcherOptions {
  /** Longest a request waits for others to join its batch. 0: only those of the same tick. */
  maxWaitMs: number;
  /** A batch is sent as soon as it holds this many rows. */
  maxRows: number;
}

/** Stores one batch; one outcome per request, in order. */
export type CommitBatch = (requests: IngestRequest[]) => Promise<IngestOutcome[]>;

export interface Batcher {
  submit(request: IngestRequest): Promise<IngestOutcome>;
  /** Sends what is waiting now and resolves once every batch under way has settled. */
  drain(): Promise<void>;
  /** Batches sent so far. */
  readonly batches: number;
}

interface Pending {
  request: IngestRequest;
  resolve(outcome: IngestOutcome): void;
  reject(err: unknown): void;
}

export function createBatcher(commit: CommitBatch, opts: BatcherOptions): Batcher {
  let pending: Pending[] = [];
  let rows = 0;
  let timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  let batches = 0;
  const underWay = new Set<Promise<unknown>>();

  function flush() {
    if (timer !== undefined) {
      if (opts.maxWaitMs > 0) clearTimeout(timer as ReturnType<typeof setTimeout>);
      else clearImmediate(timer as ReturnType<typeof setImmediate>);
      timer = undefined;
    }
    const batch = pending;
    pending = [];
    rows = 0;
    if (batch.length === 0) return;
    batches += 1;
    const done = commit(batch.map((p) => p.request)).then(
      (outcomes) => batch.forEach((p, i) => p.resolve(outcomes[i]!)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
    underWay.add(done);
    void done.finally(() => underWay.delete(done));
  }

  return {
    get batches() {
      return batches;
    },
    submit(request) {
      return new Promise<IngestOutcome>((resolve, reject) => {
        pending.push({ request, resolve, reject });
        rows += rowsOf(request.items);
        if (rows >= opts.maxRows) return flush();
        if (timer === undefined) timer = opts.maxWaitMs > 0 ? setTimeout(flush, opts.maxWaitMs) : setImmediate(flush);
      });
    },
    async drain() {
      flush();
      while (underWay.size > 0) await Promise.allSettled([...underWay]);
    },
  };
}
