// In-memory rules of a group-commit batch, before the database sees it: a
// request whose (viewer, Idempotency-Key) already appears earlier in the same
// batch is not sent; it shares the fate of that first request (replayed when
// its body is the same, key_reused when it is not). The database then sees
// each (viewer, key) at most once.
import type { IngestOutcome, IngestRequest } from "./telemetry-repo.js";

export interface BatchPlan {
  /** The requests to send, in order. */
  owners: IngestRequest[];
  /** Every request's outcome, from the outcomes of `owners` (same order as `owners`). */
  resolve(ownerOutcomes: readonly IngestOutcome[]): IngestOutcome[];
}

export function planBatch(requests: readonly IngestRequest[]): BatchPlan {
  const owners: IngestRequest[] = [];
  const ownerOf: number[] = [];
  const firstByKey = new Map<string, number>();
  for (const r of requests) {
    const id = r.key ? `${r.viewerId}\u0000${r.key.hash}` : undefined;
    const earlier = id === undefined ? undefined : firstByKey.get(id);
    if (earlier !== undefined) {
      ownerOf.push(earlier);
      continue;
    }
    if (id !== undefined) firstByKey.set(id, owners.length);
    ownerOf.push(owners.length);
    owners.push(r);
  }
  return {
    owners,
    resolve(ownerOutcomes) {
      return requests.map((r, i) => {
        const owner = owners[ownerOf[i]!]!;
        const outcome = ownerOutcomes[ownerOf[i]!]!;
        if (owner === r) return outcome;
        if (r.key!.body !== owner.key!.body) return { outcome: "key_reused", stored: 0 };
        return outcome.outcome === "stored" ? { outcome: "replayed", stored: outcome.stored } : outcome;
      });
    },
  };
}
