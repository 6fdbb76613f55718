// The hot path of GET /summary: the summaries of the requests that arrived
// together, in one call of tally_summaries (prisma/functions/tally_summaries.sql),
// one prepared statement: one round trip and one plan for all of them.
import type { Store } from "./connection.js";
import { query, statement } from "./sql.js";

export interface SummaryRead {
  viewerId: string;
  days: number;
  /** Counts per UTC day and event (the series), not only per event. */
  perDay: boolean;
}

export interface SummaryRows {
  /** The database's clock when the summary was read. */
  now: Date;
  /** now − days × 24 h: the window's start. */
  since: Date;
  /** Counts above zero per event (and per UTC day, YYYY-MM-DD, for a per-day read). */
  rows: { day?: string; event: string; n: number }[];
}

const SUMMARIES = statement<[string[], number[], boolean[]], { req: number; now: Date; since: Date; day: string | null; event: string | null; n: number | null }>(
  "tally_summaries",
  `SELECT req, now, since, to_char(day, 'YYYY-MM-DD') AS day, event, n
   FROM tally_summaries($1::text[], $2::int[], $3::boolean[])`,
);

/** One SummaryRows per read, in order; reads asked for twice in a batch are read once (the same now(): the same answer). */
export async function readSummaries(store: Store, reads: readonly SummaryRead[]): Promise<SummaryRows[]> {
  const slot = new Map<string, number>();
  const unique: SummaryRead[] = [];
  const at = reads.map((r) => {
    const key = `${r.viewerId} ${r.days} ${r.perDay}`;
    let i = slot.get(key);
    if (i === undefined) slot.set(key, (i = unique.push(r) - 1));
    return i;
  });
  const rows = await query(
    store.pool,
    SUMMARIES,
    unique.map((r) => r.viewerId),
    unique.map((r) => r.days),
    unique.map((r) => r.perDay),
  );
  const out: SummaryRows[] = [];
  for (const r of rows) {
    // Rows come in request order, the first of each carrying its window.
    const summary = (out[r.req - 1] ??= { now: r.now, since: r.since, rows: [] });
    if (r.event !== null && r.n !== null) summary.rows.push(r.day === null ? { event: r.event, n: r.n } : { day: r.day, event: r.event, n: r.n });
  }
  if (out.length !== unique.length || out.includes(undefined as never)) throw new Error("tally_summaries did not answer every request");
  return at.map((i) => out[i]!);
}
