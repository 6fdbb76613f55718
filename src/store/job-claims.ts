// Exactly-once scheduled work across replicas: every replica's cron fires, the
// one whose insert of (job, slot) succeeds runs that tick.
import type { Store } from "./connection.js";

/** True for exactly one caller per (job, slot). */
export async function claimJobSlot(store: Store, job: string, slot: Date): Promise<boolean> {
  const prisma = await store.prisma();
  const { count } = await prisma.jobClaim.createMany({ data: [{ job, slot }], skipDuplicates: true });
  return count === 1;
}
