// The ingest hot path's one statement: a group-commit batch in one call of
// tally_ingest (prisma/functions/tally_ingest.sql): keys, budget, rows and
// rollup in one transaction. Prepared once per connection. This file owns the
// outcome vocabulary (what the SQL function answers per request: every other
// layer imports INGEST_OUTCOMES' names) and every retry of a batch.
import { KEY_WINDOW_MS } from "../contract/index.js";
import type { Store } from "./connection.js";
import { isMissingPartition, postgresError } from "./errors.js";
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

/**
 * What became of one request of a batch (tally_ingest's header says when each happens):
 * stored, replayed (its key was seen with the same body), key_reused (with
 * another body), rate_limited, erased (tracked before its viewer's erasure),
 * session_mismatch (its binding is too old).
 */
export const INGEST_OUTCOMES = ["stored", "replayed", "key_reused", "rate_limited", "erased", "session_mismatch"] as const;
export type IngestOutcomeName = (typeof INGEST_OUTCOMES)[number];

/** One request's outcome, read from tally_ingest's row: `stored` counts rows stored (now or by the first attempt). */
export type IngestOutcome =
  | { outcome: "stored" | "replayed"; stored: number }
  | { outcome: "rate_limited"; stored: 0; retryAfter: number }
  | { outcome: Exclude<IngestOutcomeName, "stored" | "replayed" | "rate_limited">; stored: 0 };

interface IngestRow {
  req: number;
  outcome: string;
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

/** Deadlock and serialization failure: nothing was stored, the same batch may simply run again. */
const RETRY_AS_IS = new Set(["40P01", "40001"]);

/** tally_ingest's row as an outcome; an outcome outside the vocabulary is a bug (SQL and TS disagree). */
function outcomeOf(row: IngestRow): IngestOutcome {
  switch (row.outcome as IngestOutcomeName) {
    case "stored":
    case "replayed":
      return { outcome: row.outcome as "stored" | "replayed", stored: row.stored };
    case "rate_limited":
      return { outcome: "rate_limited", stored: 0, retryAfter: row.retry_after ?? 60 };
    case "key_reused":
    case "erased":
    case "session_mismatch":
      return { outcome: row.outcome as "key_reused" | "erased" | "session_mismatch", stored: 0 };
    default:
      throw new Error(`tally_ingest answered an unknown outcome: ${String(row.outcome)}`);
  }
}

/**
 * Stores a batch; one outcome per sent request, in request order (`rateLimit`
 * 0: no budget). Retried once here and nowhere else: after a deadlock or
 * serialization failure as it is, after a missing day partition once the
 * partitions exist. Any other failure, or a second one, is the caller's.
 */
export async function ingestBatch(store: Store, b: IngestBatch, rateLimit: number): Promise<IngestOutcome[]> {
  const call = async () => {
    const rows = await query(store.pool, INGEST, b.viewers, b.subjects, b.boundAt, b.keys, b.bodies, b.wants, b.itemRequest, b.itemEvent, b.itemCount, rateLimit, BINDING_MAX_AGE_S);
    const outcomes = new Array<IngestOutcome>(b.viewers.length);
    for (const row of rows) outcomes[row.req - 1] = outcomeOf(row);
    return outcomes;
  };
  try {
    return await call();
  } catch (err) {
    const pgError = postgresError(err);
    if (isMissingPartition(pgError)) {
      await ensurePartitionsAround(store);
    } else if (pgError === undefined || !RETRY_AS_IS.has(pgError.code)) {
      throw err;
    }
    return call();
  }
}
