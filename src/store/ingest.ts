// The ingest hot path's one statement: a group-commit batch in one call of
// tally_ingest (prisma/functions/tally_ingest.sql): keys, budget, rows and
// rollup in one transaction. Prepared once per connection.
import { KEY_WINDOW_MS } from "../contract/index.js";
import type { Store } from "./connection.js";
import { ensurePartitionsAround } from "./retention.js";
import { query, statement } from "./sql.js";

/** A batch as tally_ingest takes it: one entry per request, items pointing at their request (1-based). */
export interface IngestBatch {
  viewers: string[];
  /** Each request's viewer's erasure subject (tombstones, the row budget). */
  subjects: string[];
  /** When each request's session binding was issued (µs, the database's clock), or null: unbound. */
  boundAt: (number | null)[];
  /** Keyed hash of each request's Idempotency-Key, or null. */
  keys: (string | null)[];
  /** Fingerprint of each keyed request's body, or null. */
  bodies: (string | null)[];
  /** Rows each request asks for. */
  wants: number[];
  itemRequest: number[];
  itemEvent: string[];
  itemCount: number[];
}

export interface IngestRow {
  req: number;
  outcome: "stored" | "replayed" | "key_reused" | "rate_limited" | "erased" | "session_mismatch";
  stored: number;
  retry_after: number | null;
}

const INGEST = statement<
  [string[], string[], (number | null)[], (string | null)[], (string | null)[], number[], number[], string[], number[], number, number],
  IngestRow
>(
  "tally_ingest",
  `SELECT req, outcome, stored, retry_after
   FROM tally_ingest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[], $10::int, $11::int)`,
);

/** A session binding is accepted this long (by the database's clock; tombstones outlast it by an hour). */
const BINDING_MAX_AGE_S = KEY_WINDOW_MS / 1000;

/** Stores a batch; one row per request, in request order. `rateLimit` 0: no budget. */
export async function ingestBatch(store: Store, b: IngestBatch, rateLimit: number): Promise<IngestRow[]> {
  const call = () => query(store.pool, INGEST, b.viewers, b.subjects, b.boundAt, b.keys, b.bodies, b.wants, b.itemRequest, b.itemEvent, b.itemCount, rateLimit, BINDING_MAX_AGE_S);
  try {
    return await call();
  } catch (err) {
    // The day's partition is missing (maintenance has not run since midnight,
    // or the clock jumped): create it and try once more.
    if (!(err instanceof Error && /no partition of relation "telemetry_event" found/.test(err.message))) throw err;
    await ensurePartitionsAround(store);
    return call();
  }
}
