// In-memory rules of a group-commit batch, testable without a database:
// repeated keys inside one batch, the arrays tally_ingest takes, and what each
// request is answered. Only what depends on the database's state (keys seen
// before, the budget left) is decided in SQL (prisma/functions/tally_ingest.sql).
import type { IngestBatch, IngestOutcome } from "../store/ingest.js";
import type { EventCount } from "./validation.js";

/** One ingest request, ready for the store: everything already hashed and validated. */
export interface IngestRequest {
  /** The hashed viewer id. */
  viewerId: string;
  /** The viewer's erasure subject (tombstones, the row budget). */
  subject: string;
  /** When the request's session binding was issued (µs, the database's clock); null: the request carried none. */
  boundAt: number | null;
  /** The keyed hash of its Idempotency-Key and its body's fingerprint; null without a key. */
  key: { hash: string; body: string } | null;
  items: readonly EventCount[];
  /** Rows of counts the items ask for (rowsOf(items)), computed once when the request is made. */
  rows: number;
}

export interface BatchPlan {
  /** What is sent to tally_ingest: each (viewer, key) at most once. */
  batch: IngestBatch;
  /** Every request's outcome, from those of the requests sent (ingestBatch's, in order). */
  outcomes(sentOutcomes: readonly IngestOutcome[]): IngestOutcome[];
}

/** Rows a request asks for. */
export const rowsOf = (items: readonly EventCount[]): number => items.reduce((n, i) => n + i.count, 0);

/**
 * A request whose (viewer, key) already appears earlier in the batch is not
 * sent: it shares the fate of that first request — replayed when its body is
 * the same, key_reused when it is not, refused with it when it is refused.
 */
export function planBatch(requests: readonly IngestRequest[]): BatchPlan {
  const sent: IngestRequest[] = [];
  const ownerOf: number[] = [];
  const firstByKey = new Map<string, number>();
  for (const r of requests) {
    const id = r.key ? `${r.viewerId}\u0000${r.key.hash}` : undefined;
    const earlier = id === undefined ? undefined : firstByKey.get(id);
    if (earlier !== undefined) {
      ownerOf.push(earlier);
      continue;
    }
    if (id !== undefined) firstByKey.set(id, sent.length);
    ownerOf.push(sent.length);
    sent.push(r);
  }

  const batch: IngestBatch = { viewers: [], subjects: [], boundAt: [], keys: [], bodies: [], wants: [], itemRequest: [], itemEvent: [], itemCount: [] };
  sent.forEach((r, i) => {
    batch.viewers.push(r.viewerId);
    batch.subjects.push(r.subject);
    batch.boundAt.push(r.boundAt);
    batch.keys.push(r.key?.hash ?? null);
    batch.bodies.push(r.key?.body ?? null);
    batch.wants.push(r.rows);
    for (const item of r.items) {
      batch.itemRequest.push(i + 1);
      batch.itemEvent.push(item.event);
      batch.itemCount.push(item.count);
    }
  });

  return {
    batch,
    outcomes(sentOutcomes) {
      return requests.map((r, i) => {
        const owner = sent[ownerOf[i]!]!;
        const outcome = sentOutcomes[ownerOf[i]!];
        if (outcome === undefined) throw new Error(`tally_ingest gave no row for request ${ownerOf[i]! + 1}`);
        if (owner === r) return outcome;
        if (r.key!.body !== owner.key!.body) return { outcome: "key_reused", stored: 0 };
        return outcome.outcome === "stored" ? { outcome: "replayed", stored: outcome.stored } : outcome;
      });
    },
  };
}
