import type { Manifest } from "../telemetry/explain.js";

/** `tally explain` for people: the same content as --json, readable in a terminal or a review doc. */
export function formatManifest(m: Manifest): string {
  const lines = [
    `tally — ${m.description}`,
    "",
    `Telemetry enabled: ${m.telemetryEnabled ? "yes" : "no (TELEMETRY_ENABLED is off)"}`,
    `Retention: ${m.retention.days} days, purged on schedule "${m.retention.purgeSchedule}"`,
    `Viewer identity: ${m.viewerIdentity}`,
    "",
    "Stored, one row per count:",
    ...m.stored.columns.map((c) => `  ${c.name.padEnd(11)} ${c.description}`),
    "",
    "Events:",
    ...m.events.map((e) => `  ${e.name.padEnd(22)} [${e.privacyClass}] ${e.description} (${e.surface})`),
    "",
    "Privacy classes:",
    ...Object.entries(m.privacyClasses).map(([k, v]) => `  ${k.padEnd(18)} ${v}`),
    "",
    "Never collected, never logged:",
    ...m.neverCollected.map((n) => `  - ${n}`),
    "",
    m.lastPurge
      ? `Last purge: ${m.lastPurge.ranAt} (${m.lastPurge.trigger}), ${m.lastPurge.rowsDeleted} row(s) older than ${m.lastPurge.cutoff} deleted`
      : m.storeReachable
        ? "Last purge: none yet"
        : "Last purge: unknown (database unreachable)",
    m.oldestRow ? `Oldest remaining row: ${m.oldestRow.ageDays} days old` : "Oldest remaining row: none",
  ];
  return lines.join("\n");
}
