// The live "what does tally collect" manifest: served at GET /explain and
// printed by `tally explain`, so a privacy review reads what is actually running.
// The public manifest states policy, never data: what is collected, how long
// it is kept, and the day the last purge ran. Figures about the data (rows a
// purge deleted — on a quiet day one person's — or when the oldest row was
// stored) are for operators only: `tally explain` adds them, /explain never does.
import type { Catalog } from "../catalog/catalog.js";
import { privacyClasses } from "../catalog/catalog.js";
import type { Config } from "../config.js";
import type { Store } from "../store/connection.js";
import { lastPurgeRun, oldestRowAt, TOMBSTONE_KEEP_HOURS } from "../store/retention.js";

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
  ];
}

/**
 * What outlives an erasure, and why: the least that keeps an erasure erased
 * and the row budget whole. Both are keyed by the viewer's erasure subject, an
 * HMAC under another key than viewer_id's, so neither can be joined with the
 * viewer's rows (nor with a backup of them) without the server's secret.
 */
function keptThroughErasure() {
  return [
    {
      table: "telemetry_erasure",
      columns: ["subject", "erased_at"],
      why: "the erasure's tombstone: a count tracked before the erasure (its session binding is older) is refused, however late it arrives",
      retention: `${TOMBSTONE_KEEP_HOURS} hours (deleted by the hourly maintenance once older, so at most ${TOMBSTONE_KEEP_HOURS + 1} hours): session bindings are accepted for 24 hours`,
    },
    {
      table: "telemetry_rate_window",
      columns: ["subject", "window_start", "rows"],
      why: "the row budget of the current minute: an erasure is no way around it",
      retention: "1 hour (deleted by the hourly maintenance once older, so at most 2 hours)",
    },
  ];
}

/** The anonymous aggregates: what they hold, who may see them, how long they are kept. */
function aggregates(config: Config, catalog: Catalog) {
  const keep = config.telemetry.aggregateRetentionDays;
  return {
    table: "telemetry_aggregate",
    columns: [
      { name: "day", description: "a closed UTC day" },
      { name: "event", description: "an event name from the catalog" },
      { name: "count", description: "rows of counts of that event on that day, across all viewers, each viewer's counted at most maxPerViewer" },
      { name: "viewers", description: "how many distinct viewers those counts came from" },
    ],
    viewerId: false,
    writtenWhen: "once per UTC day, after it has closed (hourly job, and before a purge drops the day)",
    retention:
      keep === 0
        ? "deleted with the raw rows of its day (TELEMETRY_AGGREGATE_RETENTION_DAYS=0)"
        : `${keep} days after the raw rows of its day are purged (TELEMETRY_AGGREGATE_RETENTION_DAYS)`,
    minViewers: config.telemetry.reportMinViewers,
    maxPerViewer: config.telemetry.reportMaxPerViewer,
    differentialPrivacy: differentialPrivacy(config, catalog),
    publication: [
      "the unit of publication is a cell: one closed UTC day × one event, with its count and distinct viewers",
      `a cell is shown only when it rests on at least ${config.telemetry.reportMinViewers} distinct viewers (TELEMETRY_REPORT_MIN_VIEWERS)${config.telemetry.reportEpsilon ? ", counted after noise" : ""}; otherwise it is shown as <${config.telemetry.reportMinViewers} (null in JSON)`,
      `each viewer's count in a cell counts at most ${config.telemetry.reportMaxPerViewer} (TELEMETRY_REPORT_MAX_PER_VIEWER), so no one viewer dominates a cell`,
      "every other figure (totals, rates, CSV, page, CLI) is computed from shown cells only, so no combination of reports reveals a suppressed cell",
      "only closed days are shown, and a cell never changes once written; today is in progress and not shown",
    ],
    erasure:
      "an erasure removes a viewer's raw rows, rollup and bookkeeping, so days not yet aggregated no longer count them; a closed day's aggregate holds no viewer id and no per-viewer value, only sums over everyone, and stays as it is (recomputing it would publish the difference)",
  };
}

/** The differential-privacy option as configured: the mechanism, ε and what it costs a viewer. */
function differentialPrivacy(config: Config, catalog: Catalog) {
  const eps = config.telemetry.reportEpsilon;
  if (!eps) return { enabled: false as const, how: "off: set TELEMETRY_REPORT_EPSILON to add noise to every cell" };
  const epsilon = eps.p / eps.q;
  const events = catalog.names.length;
  return {
    enabled: true as const,
    mechanism: "two-sided geometric (discrete Laplace), sampled exactly with integers; drawn once per cell when its day is aggregated and stored noisy only",
    epsilonPerCell: epsilon,
    split: `ε/2 = ${epsilon / 2} on the count (sensitivity ${config.telemetry.reportMaxPerViewer}, the contribution bound) and ε/2 on the viewers (sensitivity 1)`,
    epsilonPerViewerPerDay: Math.round(epsilon * events * 1e6) / 1e6,
    why: `a viewer is in at most ${events} cells a day (one per event): by basic composition one viewer's day costs at most ${events} × ε`,
    threshold: `K is applied to the noisy viewers; negative noisy values are shown as 0`,
  };
}

export interface ManifestOptions {
  /** Add the operator's figures (last purge's rows, the oldest row): `tally explain`, never GET /explain. */
  operator?: boolean;
}

export async function buildManifest(config: Config, catalog: Catalog, store: Store, opts: ManifestOptions = {}) {
  let lastPurge: { day: string } | null = null;
  let operator: OperatorFigures | undefined;
  let storeReachable = true;
  try {
    const run = await lastPurgeRun(store);
    lastPurge = run && { day: run.ranAt.toISOString().slice(0, 10) };
    if (opts.operator) {
      const oldest = await oldestRowAt(store);
      operator = {
        lastPurge: run && {
          ranAt: run.ranAt.toISOString(),
          trigger: run.trigger,
          cutoff: run.cutoff.toISOString(),
          rowsDeleted: run.rowsDeleted,
          partitionsDropped: run.partitionsDropped,
          durationMs: run.durationMs,
        },
        oldestRow: oldest ? { createdAt: oldest.toISOString(), ageDays: round1((Date.now() - oldest.getTime()) / 864e5) } : null,
      };
    }
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
    keptThroughErasure: keptThroughErasure(),
    aggregates: aggregates(config, catalog),
    viewerIdentity: "keyed hash (HMAC-SHA256) of the session's viewer id",
    events: catalog.events,
    rates: catalog.rates,
    privacyClasses,
    neverCollected: NEVER_COLLECTED,
    storeReachable,
    lastPurge,
    ...(operator ? { operator } : {}),
  };
}

/** Figures about the data itself: for the operator (`tally explain`), never the public /explain. */
export interface OperatorFigures {
  lastPurge: { ranAt: string; trigger: string; cutoff: string; rowsDeleted: number; partitionsDropped: number; durationMs: number } | null;
  oldestRow: { createdAt: string; ageDays: number } | null;
}

export type Manifest = Awaited<ReturnType<typeof buildManifest>>;

const round1 = (n: number) => Math.round(n * 10) / 10;
