// Coalescing: concurrent requests are handed to the store together, in one
// statement, instead of one each. Ingest uses it for group commit (one
// transaction, one WAL flush for many requests), GET /summary for group reads
// (one round trip, one plan). A batch is sent when it weighs `maxRows` (rows of
// counts for ingest, requests for reads) or `maxWaitMs` after its first
// request, whichever comes first (0: at the end of the event-loop turn, so
// nothing waits for company that is not already there); batches do not wait
// for each other, so Node and PostgreSQL work side by side. Every request is
// answered only from its own batch's outcome; a failed batch rejects exactly
// its own requests. One timer per batch, none per request.

export interface BatcherOptions {
  /** Longest a request waits for others to join its batch. 0: only those of the same event-loop turn. */
  maxWaitMs: number;
  /** A batch is sent as soon as its requests weigh this much. */
  maxRows: number;
}

/** Runs one batch; one outcome per request, in order. */
export type RunBatch<Req, Out> = (requests: Req[]) => Promise<Out[]>;

export interface Batcher<Req, Out> {
  submit(request: Req): Promise<Out>;
  /** Sends what is waiting now and resolves once every batch under way has settled. */
  drain(): Promise<void>;
  /** Batches sent so far. */
  readonly batches: number;
}

interface Pending<Req, Out> {
  request: Req;
  resolve(outcome: Out): void;
  reject(err: unknown): void;
}

/** `weigh`: a request's share of maxRows (1 each by default). */
export function createBatcher<Req, Out>(run: RunBatch<Req, Out>, opts: BatcherOptions, weigh: (request: Req) => number = () => 1): Batcher<Req, Out> {
  let pending: Pending<Req, Out>[] = [];
  let weight = 0;
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
    weight = 0;
    if (batch.length === 0) return;
    batches += 1;
    const done = run(batch.map((p) => p.request)).then(
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
      return new Promise<Out>((resolve, reject) => {
        pending.push({ request, resolve, reject });
        weight += weigh(request);
        if (weight >= opts.maxRows) return flush();
        if (timer === undefined) timer = opts.maxWaitMs > 0 ? setTimeout(flush, opts.maxWaitMs) : setImmediate(flush);
      });
    },
    async drain() {
      flush();
      while (underWay.size > 0) await Promise.allSettled([...underWay]);
    },
  };
}
