// The telemetry repository: every SQL statement tally runs on its data, as plain
// functions over a Prisma client. Raw tagged templates only (parameters, never
// string building); the hot insert avoids Prisma's query compiler on purpose
// (see ../shared/ENVIRONMENT.md: createMany is ~3x slower).
import { planBatch } from "./ingest-plan.js";
import type { Db } from "./prisma.js";

export interface EventCount {
  event: string;
  count: number;
}

/** Day partitions kept ready before and after today (UTC). */
export const PARTITION_DAYS_BEHIND = 1;
export const PARTITION_DAYS_AHEAD = 7;

export interface IngestRequest {
  /** The hashed viewer id. */
  viewerId: string;
  /** The request's Idempotency-Key as a keyed hash, and its body's fingerprint; null without a key. */
  key: { hash: string; body: string } | null;
  items: readonly EventCount[];
}

export type IngestOutcome =
  | { outcome: "stored" | "replayed"; stored: number }
  | { outcome: "key_reused"; stored: 0 }
  | { outcome: "rate_limited"; stored: 0; retryAfter: number };

/**
 * Stores the counts of one or more requests in one statement, and so one
 * transaction (see tally_ingest in the migrations): idempotency keys, the shared
 * per-viewer row budget and one row per count, all committed together or not
 * at all. Repeats of a key inside the batch are resolved first (ingest-plan.ts).
 * Returns one outcome per request, in order.
 */
export async function ingest(db: Db, requests: readonly IngestRequest[], rateLimit: number): Promise<IngestOutcome[]> {
  const plan = planBatch(requests);
  const sent = plan.owners;
  const viewers = sent.map((r) => r.viewerId);
  const keys = sent.map((r) => r.key?.hash ?? null);
  const bodies = sent.map((r) => r.key?.body ?? null);
  const wants = sent.map((r) => r.items.reduce((n, item) => n + item.count, 0));
  const itemReq: number[] = [];
  const itemEvent: string[] = [];
  const itemCount: number[] = [];
  sent.forEach((r, i) => {
    for (const item of r.items) {
      itemReq.push(i + 1);
      itemEvent.push(item.event);
      itemCount.push(item.count);
    }
  });
  const call = () => db.$queryRaw<{ req: number; outcome: string; stored: number; retry_after: number | null }[]>`
    SELECT req, outcome, stored, retry_after FROM tally_ingest(
      ${viewers}::text[], ${keys}::text[], ${bodies}::text[], ${wants}::int[],
      ${itemReq}::int[], ${itemEvent}::text[], ${itemCount}::int[], ${rateLimit}::int)`;
  let rows;
  try {
    rows = await call();
  } catch (err) {
    // The day's partition is missing (the maintenance job has not run since
    // midnight, or the clock jumped): create it and try once more.
    if (!isMissingPartition(err)) throw err;
    await ensurePartitionsAround(db);
    rows = await call();
  }
  const outcomes = new Array<IngestOutcome>(sent.length);
  for (const r of rows) {
    outcomes[r.req - 1] =
      r.outcome === "rate_limited"
        ? { outcome: "rate_limited", stored: 0, retryAfter: r.retry_after ?? 60 }
        : r.outcome === "key_reused"
          ? { outcome: "key_reused", stored: 0 }
          : { outcome: r.outcome as "stored" | "replayed", stored: r.stored };
  }
  return plan.resolve(outcomes);
}

function isMissingPartition(err: unknown): boolean {
  return err instanceof Error && /no partition of relation "telemetry_event" found/.test(err.message);
}

// ---- summary ---------------------------------------------------------------
// The window is the last `days` × 24 h. Its first UTC day is partial: those rows
// are counted from telemetry_event (one day partition, one index range). Every
// later day, today included, is whole inside the window and read from the
// telemetry_daily rollup. So a summary reads at most one day of a viewer's raw
// rows, however many they have.

/** The viewer's counts per event over the last `days` × 24 h; events with no rows are absent. */
export async function countsSince(db: Db, viewerId: string, days: number): Promise<Map<string, number>> {
  const rows = await db.$queryRaw<{ event: string; n: number }[]>`
    SELECT event, sum(n)::int AS n FROM tally_summary_daily(${viewerId}, ${days}::int) GROUP BY event`;
  return new Map(rows.map((r) => [r.event, r.n]));
}

export interface DailySeries {
  /** UTC dates (YYYY-MM-DD) covering the window, oldest first; the first and last are partial days. */
  days: string[];
  /** event -> count per day, aligned with `days`; events with no rows are absent. */
  counts: Map<string, number[]>;
}

/** The same window as countsSince, split by UTC day and zero-filled. */
export async function dailyCountsSince(db: Db, viewerId: string, days: number): Promise<DailySeries> {
  const rows = await db.$queryRaw<{ day: string; event: string | null; n: number }[]>`
    WITH w AS (SELECT ((now() - make_interval(days => ${days}::int)) AT TIME ZONE 'UTC')::date AS first_day,
                      (now() AT TIME ZONE 'UTC')::date AS last_day),
    calendar AS (SELECT d::date AS day FROM w, generate_series(w.first_day, w.last_day, interval '1 day') AS d)
    SELECT to_char(c.day, 'YYYY-MM-DD') AS day, t.event, coalesce(t.n, 0)::int AS n
    FROM calendar c LEFT JOIN tally_summary_daily(${viewerId}, ${days}::int) t ON t.day = c.day
    ORDER BY c.day`;
  const dayList = [...new Set(rows.map((r) => r.day))];
  const index = new Map(dayList.map((d, i) => [d, i]));
  const counts = new Map<string, number[]>();
  for (const r of rows) {
    if (!r.event) continue;
    const series = counts.get(r.event) ?? new Array<number>(dayList.length).fill(0);
    series[index.get(r.day)!] = r.n;
    counts.set(r.event, series);
  }
  return { days: dayList, counts };
}

/**
 * Erases everything keyed by one viewer, in every table with a viewer column
 * (tally_forget finds them in the catalog), in one transaction. Returns the
 * rows of telemetry_event deleted.
 */
export async function deleteViewer(db: Db, viewerId: string): Promise<number> {
  const [row] = await db.$queryRaw<{ n: bigint }[]>`SELECT tally_forget(${viewerId}) AS n`;
  return Number(row?.n ?? 0);
}

export async function countViewerRows(db: Db, viewerId: string): Promise<number> {
  const [row] = await db.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM telemetry_event WHERE viewer_id = ${viewerId}`;
  return row?.n ?? 0;
}

export async function ping(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}

/** The database's clock: windows and cutoffs use it, like created_at's default. */
export async function databaseNow(db: Db): Promise<Date> {
  const [row] = await db.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
  if (!row) throw new Error("SELECT now() returned no row");
  return row.now;
}

// ---- retention -------------------------------------------------------------

/** Keeps partitions ready from yesterday to a week ahead, by the database's clock. */
export async function ensurePartitionsAround(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<{ created: number }[]>`
    SELECT tally_ensure_partitions(
      (now() AT TIME ZONE 'UTC')::date - ${PARTITION_DAYS_BEHIND}::int,
      (now() AT TIME ZONE 'UTC')::date + ${PARTITION_DAYS_AHEAD}::int) AS created`;
  return row?.created ?? 0;
}

/** Day partitions that hold only rows older than the cutoff, oldest first. */
export async function expiredPartitions(db: Db, cutoff: Date): Promise<string[]> {
  const rows = await db.$queryRaw<{ partition_name: string }[]>`
    SELECT partition_name FROM tally_expired_partitions(${cutoff}::timestamptz)`;
  return rows.map((r) => r.partition_name);
}

/** Drops one expired day partition; returns the rows it held. */
export async function dropPartition(db: Db, name: string): Promise<number> {
  const [row] = await db.$queryRaw<{ n: bigint }[]>`SELECT tally_drop_partition(${name}) AS n`;
  return Number(row?.n ?? 0);
}

/** Idempotency keys are remembered this long; a retry after that stores again. */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

/** Forgets idempotency keys past their window, spent rate windows and old job claims. */
export async function deleteExpiredBookkeeping(db: Db): Promise<void> {
  await db.$executeRaw`
    DELETE FROM telemetry_idempotency WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS}::int)`;
  await db.$executeRaw`DELETE FROM telemetry_rate_window WHERE window_start < now() - interval '1 hour'`;
  await db.$executeRaw`DELETE FROM telemetry_job_claim WHERE slot < now() - interval '7 days'`;
}

/** Claims one scheduled tick of a job; true for exactly one replica per (job, slot). */
export async function claimJobSlot(db: Db, job: string, slot: Date): Promise<boolean> {
  const inserted = await db.$executeRaw`
    INSERT INTO telemetry_job_claim (job, slot) VALUES (${job}, ${slot}::timestamptz) ON CONFLICT DO NOTHING`;
  return inserted === 1;
}

/** Deletes at most `limit` rows older than the cutoff, and takes them off the rollup; returns how many. */
export async function deleteOlderThan(db: Db, cutoff: Date, limit: number): Promise<number> {
  const [row] = await db.$queryRaw<{ n: number }[]>`
    SELECT tally_delete_before(${cutoff}::timestamptz, ${limit}::int) AS n`;
  return row?.n ?? 0;
}

export async function countOlderThan(db: Db, cutoff: Date): Promise<number> {
  const [row] = await db.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM telemetry_event WHERE created_at < ${cutoff}::timestamptz`;
  return Number(row?.n ?? 0);
}

export async function oldestRowAt(db: Db): Promise<Date | null> {
  const [row] = await db.$queryRaw<{ oldest: Date | null }[]>`
    SELECT min(created_at) AS oldest FROM telemetry_event`;
  return row?.oldest ?? null;
}

export interface PurgeRunRecord {
  ranAt: Date;
  cutoff: Date;
  rowsDeleted: number;
  partitionsDropped: number;
  durationMs: number;
  trigger: string;
}

export async function recordPurgeRun(db: Db, run: Omit<PurgeRunRecord, "ranAt">): Promise<void> {
  await db.purgeRun.create({
    data: {
      cutoff: run.cutoff,
      rowsDeleted: BigInt(run.rowsDeleted),
      partitionsDropped: run.partitionsDropped,
      durationMs: run.durationMs,
      trigger: run.trigger,
    },
  });
}

export async function lastPurgeRun(db: Db): Promise<PurgeRunRecord | null> {
  const row = await db.purgeRun.findFirst({ orderBy: { ranAt: "desc" } });
  if (!row) return null;
  return { ...row, rowsDeleted: Number(row.rowsDeleted) };
}
