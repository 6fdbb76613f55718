// Erasure of one viewer: tally_forget (prisma/functions/tally_forget.sql)
// finds every table with a viewer_id column in the catalog and deletes from
// each, in the lock order of ingest, in one transaction, and leaves the
// erasure's tombstone. Session bindings are stamped by the same clock.
import type { Store } from "./connection.js";
import { inTransaction, queryOne, statement } from "./sql.js";

const FORGET = statement<[string, string], { events: number; matched: number }>(
  "tally_forget",
  "SELECT events::float8 AS events, matched::float8 AS matched FROM tally_forget($1, $2)",
);

export interface Erased {
  /** Rows of counts deleted. */
  events: number;
  /** Rows deleted from every table (0: nothing of this viewer was stored). */
  matched: number;
}

/**
 * Erases everything keyed by `viewerId` and tombstones `subject`. Erasing a
 * heavy viewer (millions of rows) outlasts the pool's statement timeout, so it
 * runs in a transaction with `timeoutMs` of its own.
 */
export async function forgetViewer(store: Store, viewerId: string, subject: string, timeoutMs: number): Promise<Erased> {
  return inTransaction(store.pool, async (client) => {
    await client.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
    return queryOne(client, FORGET, viewerId, subject);
  });
}

const STORED = statement<[string], { events: number; matched: number }>(
  "tally_viewer_rows",
  `SELECT (SELECT coalesce(sum(count), 0) FROM telemetry_daily WHERE viewer_id = $1)::float8 AS events,
          ((SELECT count(*) FROM telemetry_daily WHERE viewer_id = $1)
           + (SELECT count(*) FROM telemetry_idempotency WHERE viewer_id = $1))::float8 AS matched`,
);

/** What an erasure of `viewerId` would delete: its rows of counts (the rollup sums them exactly), and whether anything of it is stored. */
export async function countViewerRows(store: Store, viewerId: string): Promise<Erased> {
  return queryOne(store.pool, STORED, viewerId);
}

const BINDING_TIME = statement<[string], { us: string }>("tally_binding_time", "SELECT tally_binding_time($1)::text AS us");

/** When a binding issued now for `viewerId` is issued (µs, the database's clock; after any erasure of it under way). */
export async function bindingTime(store: Store, viewerId: string): Promise<number> {
  return Number((await queryOne(store.pool, BINDING_TIME, viewerId)).us);
}
