// Erasure of one viewer: tally_forget (prisma/functions/tally_forget.sql)
// finds every table with a viewer_id column in the catalog and deletes from
// each, in the lock order of ingest, in one transaction.
import type { Store } from "./connection.js";
import { inTransaction, queryOne, statement } from "./sql.js";

const FORGET = statement<[string], { n: number }>("tally_forget", "SELECT tally_forget($1)::int AS n");

/**
 * Erases everything keyed by `viewerId`; returns the rows of counts deleted.
 * Erasing a heavy viewer (millions of rows) outlasts the pool's statement
 * timeout, so it runs in a transaction with `timeoutMs` of its own.
 */
export async function forgetViewer(store: Store, viewerId: string, timeoutMs: number): Promise<number> {
  return inTransaction(store.pool, async (client) => {
    await client.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
    return (await queryOne(client, FORGET, viewerId)).n;
  });
}

/** The rows of counts stored for `viewerId` (the rollup sums them exactly). */
export async function countViewerRows(store: Store, viewerId: string): Promise<number> {
  const prisma = await store.prisma();
  const { _sum } = await prisma.dailyCount.aggregate({ where: { viewerId }, _sum: { count: true } });
  return Number(_sum.count ?? 0);
}
