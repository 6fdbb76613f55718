// The live "what does tally collect" manifest: served at GET /explain and
// printed by `tally explain`, so a privacy review reads what is actually running.
import type { Catalog } from "../catalog/catalog.js";
import { privacyClasses } from "../catalog/catalog.js";
import type { Config } from "../config.js";
import type { Store } from "../store/connection.js";
import { lastPurgeRun, oldestRowAt } from "../store/retention.js";

/** Never collected, never logged: nothing in tally's schema can hold these. */
const NEVER_COLLECTED = [
  "names, handles or usernames",
  "email addresses",
  "phone numbers",
  "contact identifiers",
  "post or message text",
  "prompts",
  "free text of any kind",
  "IP addresses",
  "user agents",
  "referrer URLs",
  "file paths",
  "repository names",
  "secrets and API keys",
  "cookies and authorization headers",
  "request bodies",
] as const;

const STORED_COLUMNS = [
  { name: "viewer_id", description: "HMAC-SHA256 of the session's viewer id under a server secret; not the id itself" },
  { name: "event", description: "an event name from the catalog below; nothing else is accepted" },
  { name: "created_at", description: "when the row was stored, by the database's clock" },
] as const;

/**
 * Every table and column that holds data derived from a viewer, and how long
 * it is kept. tests/security/erasure.test.ts compares this list with the
 * database catalog, so a table added without an entry here fails the tests;
 * erasure (tally_forget) finds the same tables in the catalog by itself.
 */
function viewerData(config: Config) {
  const days = config.telemetry.retentionDays;
  return [
    {
      table: "telemetry_event",
      columns: ["viewer_id", "event", "created_at"],
      retention: `${days} days: whole day partitions are dropped by the purge, the boundary day's rows deleted`,
    },
    {
      table: "telemetry_daily",
      columns: ["viewer_id", "event", "day", "count"],
      retention: `${days} days, like the rows it sums (dropped with them)`,
    },
    {
      table: "telemetry_idempotency",
      columns: ["viewer_id", "key_hash", "body_hash", "stored", "created_at"],
      retention: "24 hours (deleted by the hourly maintenance once older, so at most 25 hours); keys are stored only as HMAC-SHA256",
    },
    {
      table: "telemetry_rate_window",
      columns: ["viewer_id", "window_start", "rows"],
      retention: "1 hour (deleted by the hourly maintenance once older, so at most 2 hours)",
    },
  ];
}

/** The anonymous aggregates: what they hold, who may see them, how long they are kept. */
function aggregates(config: Config) {
  const keep = config.telemetry.aggregateRetentionDays;
  return {
    table: "telemetry_aggregate",
    columns: [
      { name: "day", description: "a closed UTC day" },
      { name: "event", description: "an event name from the catalog" },
      { name: "count", description: "rows of counts of that event on that day, across all viewers" },
      { name: "viewers", description: "how many distinct viewers those counts came from" },
    ],
    viewerId: false,
    writtenWhen: "once per UTC day, after it has closed (hourly job, and before a purge drops the day)",
    retention:
      keep === 0
        ? "deleted with the raw rows of its day (TELEMETRY_AGGREGATE_RETENTION_DAYS=0)"
        : `${keep} days after the raw rows of its day are purged (TELEMETRY_AGGREGATE_RETENTION_DAYS)`,
    minViewers: config.telemetry.reportMinViewers,
    shownOnlyWhen: `a figure rests on at least ${config.telemetry.reportMinViewers} distinct viewers (TELEMETRY_REPORT_MIN_VIEWERS); fewer is shown as null`,
    erasure:
      "an erasure removes a viewer's raw rows, rollup and bookkeeping; a closed day's aggregate holds no viewer id and no per-viewer value, only sums over everyone, so it is anonymous and stays as it is",
  };
}

export async function buildManifest(config: Config, catalog: Catalog, store: Store) {
  let lastPurge = null;
  let oldestRow: { createdAt: string; ageDays: number } | null = null;
  let storeReachable = true;
  try {
    const [run, oldest] = await Promise.all([lastPurgeRun(store), oldestRowAt(store)]);
    lastPurge = run && {
      ranAt: run.ranAt.toISOString(),
      trigger: run.trigger,
      cutoff: run.cutoff.toISOString(),
      rowsDeleted: run.rowsDeleted,
      partitionsDropped: run.partitionsDropped,
      durationMs: run.durationMs,
    };
    oldestRow = oldest ? { createdAt: oldest.toISOString(), ageDays: round1((Date.now() - oldest.getTime()) / 864e5) } : null;
  } catch {
    storeReachable = false;
  }
  return {
    service: "tally",
    description: "Counts-only telemetry: how many times something happened, never what or who.",
    telemetryEnabled: config.telemetry.enabled,
    retention: { days: config.telemetry.retentionDays, purgeSchedule: config.telemetry.purgeCron },
    stored: { table: "telemetry_event", rowPerCount: true, columns: STORED_COLUMNS },
    viewerData: viewerData(config),
    aggregates: aggregates(config),
    viewerIdentity: "keyed hash (HMAC-SHA256) of the session's viewer id",
    events: catalog.events,
    rates: catalog.rates,
    privacyClasses,
    neverCollected: NEVER_COLLECTED,
    storeReachable,
    lastPurge,
    oldestRow,
  };
}

export type Manifest = Awaited<ReturnType<typeof buildManifest>>;

const round1 = (n: number) => Math.round(n * 10) / 10;
