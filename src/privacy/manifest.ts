// The live "what does tally collect" manifest: served at GET /explain and
// printed by `tally explain`, so a privacy review reads what is actually running.
import type { Catalog } from "../catalog/catalog.js";
import { privacyClasses } from "../catalog/catalog.js";
import type { Config } from "../config.js";
import type { Db } from "../store/prisma.js";
import { lastPurgeRun, oldestRowAt } from "../store/telemetry-repo.js";

/** Never collected, never logged: nothing in tally's schema can hold these. */
export const NEVER_COLLECTED = [
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

export const STORED_COLUMNS = [
  { name: "viewer_id", description: "HMAC-SHA256 of the session's viewer id under a server secret; not the id itself" },
  { name: "event", description: "an event name from the catalog below; nothing else is accepted" },
  { name: "created_at", description: "when the row was stored, by the database's clock" },
] as const;

export async function buildManifest(config: Config, catalog: Catalog, db: Db) {
  let lastPurge = null;
  let oldestRow: { createdAt: string; ageDays: number } | null = null;
  let storeReachable = true;
  try {
    const [run, oldest] = await Promise.all([lastPurgeRun(db), oldestRowAt(db)]);
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
