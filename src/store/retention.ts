// Retention's storage: day partitions of telemetry_event (created ahead,
// detached CONCURRENTLY and dropped when expired), the boundary day's rows,
// spent bookkeeping, and the record of purge runs.
import { KEY_WINDOW_MS } from "../contract/index.js";
import type { Store } from "./connection.js";
import { LOCK_SPACES } from "./locks.js";
import { inTransaction, query, queryOne, statement, type Statement } from "./sql.js";

/** Day partitions kept ready before and after today (UTC). */
const PARTITION_DAYS_BEHIND = 1;
const PARTITION_DAYS_AHEAD = 7;

/** Idempotency keys are remembered this long; a retry after that stores again. */
const IDEMPOTENCY_WINDOW_HOURS = KEY_WINDOW_MS / 3_600_000;
/** Rate windows are a minute long; older than this they are spent. */
const RATE_WINDOW_KEEP_HOURS = 1;
/**
 * An erasure's tombstone refuses counts bound before it; bindings are accepted
 * for the key window, so after it (and an hour's margin for clocks) the
 * tombstone can refer to nothing.
 */
export const TOMBSTONE_KEEP_HOURS = IDEMPOTENCY_WINDOW_HOURS + 1;

/** `telemetry_event_pYYYYMMDD` holds the UTC day YYYY-MM-DD: the one place names and days are matched. */
const PARTITION_NAME = /^telemetry_event_p(\d{4})(\d{2})(\d{2})$/;

/** The UTC day (YYYY-MM-DD) a partition name stands for, or null for anything else. */
function partitionDay(name: string): string | null {
  const m = PARTITION_NAME.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

export interface Partition {
  name: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /**
   * attached: a partition of telemetry_event; pending: a DETACH … CONCURRENTLY
   * was interrupted and must be finalized; detached: a plain table left by a
   * purge stopped between its detach and its drop (still to be dropped).
   */
  state: "attached" | "pending" | "detached";
}

const PARTITIONS = statement<[], { name: string; attached: boolean; pending: boolean }>(
  "tally_partitions",
  `SELECT c.relname AS name, i.inhrelid IS NOT NULL AS attached, coalesce(i.inhdetachpending, false) AS pending
   FROM pg_class c
   LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'telemetry_event'::regclass
   WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
     AND c.relname LIKE 'telemetry\\_event\\_p%' AND (i.inhrelid IS NOT NULL OR NOT c.relispartition)
   ORDER BY c.relname`,
);

/** The day tables of telemetry_event (attached or not), oldest first. */
export async function listPartitions(store: Store): Promise<Partition[]> {
  const rows = await query(store.pool, PARTITIONS);
  return rows.flatMap((r) => {
    const day = partitionDay(r.name);
    return day ? [{ name: r.name, day, state: !r.attached ? ("detached" as const) : r.pending ? ("pending" as const) : ("attached" as const) }] : [];
  });
}

const ENSURE = statement<[number, number], { created: number }>(
  "tally_ensure_partitions",
  `SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - $1::int, (now() AT TIME ZONE 'UTC')::date + $2::int) AS created`,
);

/** Keeps partitions ready from yesterday to a week ahead, by the database's clock; returns how many it created. */
export async function ensurePartitionsAround(store: Store): Promise<number> {
  return (await queryOne(store.pool, ENSURE, PARTITION_DAYS_BEHIND, PARTITION_DAYS_AHEAD)).created;
}

/** DDL on one of our partitions: only a name partitionDay() accepts ever reaches SQL. */
function partitionDdl<R = never>(name: string, build: (quoted: string) => string): Statement<[], R> {
  if (!partitionDay(name)) throw new Error(`not a telemetry day partition: ${name}`);
  return statement(undefined, build(`"${name}"`));
}

/**
 * Detaches an expired day partition without blocking ingest: CONCURRENTLY takes
 * no lock that inserts into telemetry_event wait for (DROP of an attached
 * partition would). Cannot run inside a transaction. A detach interrupted
 * earlier is finalized instead; a table already detached needs nothing.
 */
export async function detachPartition(store: Store, p: Partition): Promise<void> {
  if (p.state === "detached") return;
  const ddl = partitionDdl(p.name, (q) => `ALTER TABLE telemetry_event DETACH PARTITION ${q} ${p.state === "pending" ? "FINALIZE" : "CONCURRENTLY"}`);
  await query(store.pool, ddl);
}

/**
 * The erasure lock (advisory, per transaction): erasure (tally_forget), the
 * purge's deletes and the bookkeeping delete take it, so they never lock the
 * same rows in different orders. Ingest does not: it only adds rows.
 */
const ERASURE_LOCK = statement<[], never>("tally_erasure_lock", `SELECT pg_advisory_xact_lock(${LOCK_SPACES.erasure}, 0)`);

const ROLLUP_OF_DAY = statement<[string], never>("tally_rollup_of_day", "DELETE FROM telemetry_daily WHERE day = $1::date");

const rowsIn = (p: Partition) => partitionDdl<{ n: number }>(p.name, (q) => `SELECT count(*)::int AS n FROM ${q}`);

/** Rows in a day partition (attached or not): what dropping it deletes, counted, not taken from the rollup. */
export async function countPartitionRows(store: Store, p: Partition): Promise<number> {
  return (await queryOne(store.pool, rowsIn(p))).n;
}

/**
 * Drops a detached day partition and takes its day off the rollup, in one
 * transaction; returns the rows it held.
 */
export async function dropDetachedPartition(store: Store, p: Partition): Promise<number> {
  return inTransaction(store.pool, async (client) => {
    await query(client, ERASURE_LOCK);
    const { n } = await queryOne(client, rowsIn(p));
    await query(client, ROLLUP_OF_DAY, p.day);
    await query(client, partitionDdl(p.name, (q) => `DROP TABLE ${q}`));
    return n;
  });
}

const DELETE_BEFORE = statement<[Date, number], { n: number }>("tally_delete_before", "SELECT tally_delete_before($1::timestamptz, $2::int) AS n");

/** Deletes at most `limit` rows older than `cutoff` from the boundary day, and takes them off the rollup. */
export async function deleteBoundaryRows(store: Store, cutoff: Date, limit: number): Promise<number> {
  return (await queryOne(store.pool, DELETE_BEFORE, cutoff, limit)).n;
}

const COUNT_BOUNDARY = statement<[Date], { n: number }>(
  "tally_count_boundary",
  `SELECT count(*)::int AS n FROM telemetry_event
   WHERE created_at >= (($1::timestamptz AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE 'UTC' AND created_at < $1::timestamptz`,
);

/** Rows of the boundary day (the one the cutoff falls in) older than `cutoff`: what the purge deletes row by row. */
export async function countBoundaryRows(store: Store, cutoff: Date): Promise<number> {
  return (await queryOne(store.pool, COUNT_BOUNDARY, cutoff)).n;
}

const NOW = statement<[], { now: Date }>("tally_now", "SELECT now() AS now");

/** The database's clock: windows and cutoffs use it, like created_at's default. */
export async function databaseNow(store: Store): Promise<Date> {
  return (await queryOne(store.pool, NOW)).now;
}

const PING = statement<[], { ok: number }>("tally_ping", "SELECT 1 AS ok");

export async function ping(store: Store): Promise<void> {
  await queryOne(store.pool, PING);
}

/** Forgets idempotency keys past their window, spent rate windows, tombstones that can refer to nothing and old job claims (one transaction, under the erasure lock). */
export async function deleteExpiredBookkeeping(store: Store, now: Date): Promise<void> {
  const prisma = await store.prisma();
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
  await prisma.$transaction([
    prisma.$executeRawUnsafe(ERASURE_LOCK.text), // a constant statement, no parameters
    prisma.idempotencyKey.deleteMany({ where: { createdAt: { lt: hoursAgo(IDEMPOTENCY_WINDOW_HOURS) } } }),
    prisma.rateWindow.deleteMany({ where: { windowStart: { lt: hoursAgo(RATE_WINDOW_KEEP_HOURS) } } }),
    prisma.erasure.deleteMany({ where: { erasedAt: { lt: hoursAgo(TOMBSTONE_KEEP_HOURS) } } }),
    prisma.jobClaim.deleteMany({ where: { slot: { lt: hoursAgo(7 * 24) } } }),
  ]);
}

export interface PurgeRunRecord {
  ranAt: Date;
  cutoff: Date;
  rowsDeleted: number;
  partitionsDropped: number;
  durationMs: number;
  trigger: string;
}

/**
 * Records a purge run, and forgets runs older than `keepSince`: a run's rows
 * are one day's exact total, which outlives the rows themselves only as long
 * as they would have lived.
 */
export async function recordPurgeRun(store: Store, run: Omit<PurgeRunRecord, "ranAt">, keepSince: Date): Promise<void> {
  const prisma = await store.prisma();
  await prisma.purgeRun.deleteMany({ where: { ranAt: { lt: keepSince } } });
  await prisma.purgeRun.create({
    data: {
      cutoff: run.cutoff,
      rowsDeleted: BigInt(run.rowsDeleted),
      partitionsDropped: run.partitionsDropped,
      durationMs: run.durationMs,
      trigger: run.trigger,
    },
  });
}

export async function lastPurgeRun(store: Store): Promise<PurgeRunRecord | null> {
  const prisma = await store.prisma();
  const row = await prisma.purgeRun.findFirst({ orderBy: { ranAt: "desc" } });
  return row && { ...row, rowsDeleted: Number(row.rowsDeleted) };
}

const OLDEST_OF_DAY = statement<[string], { oldest: Date | null }>(
  "tally_oldest_of_day",
  `SELECT min(created_at) AS oldest FROM telemetry_event
   WHERE created_at >= ($1::date)::timestamp AT TIME ZONE 'UTC' AND created_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'`,
);

/** When the oldest row was stored: its day from the rollup (indexed), then that one partition's minimum. */
export async function oldestRowAt(store: Store): Promise<Date | null> {
  const prisma = await store.prisma();
  const first = await prisma.dailyCount.findFirst({ where: { count: { gt: 0 } }, orderBy: { day: "asc" }, select: { day: true } });
  if (!first) return null;
  return (await queryOne(store.pool, OLDEST_OF_DAY, first.day.toISOString().slice(0, 10))).oldest;
}
