import type { Manifest } from "../telemetry/explain.js";
import type { Report } from "../telemetry/report.js";

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
    `Anonymous daily aggregates (${m.aggregates.table}, no viewer id):`,
    ...m.aggregates.columns.map((c) => `  ${c.name.padEnd(11)} ${c.description}`),
    `  kept: ${m.aggregates.retention}`,
    `  shown only when ${m.aggregates.shownOnlyWhen}`,
    `  erasure: ${m.aggregates.erasure}`,
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

const SPARKS = "▁▂▃▄▅▆▇█";

/** One character per day, scaled to the largest day shown; a suppressed day is a space, no counts a dot. */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  return values
    .map((v) => (v === null ? " " : v === 0 ? "·" : SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1)))]))
    .join("");
}

/** `tally report` for people: per event the count, viewers and per-day sparkline; then the rates. */
export function formatReport(r: Report): string {
  const hidden = `<${r.minViewers}`;
  const cell = (v: number | null) => (v === null ? hidden : String(v));
  const names = Object.keys(r.events);
  const width = Math.max(5, ...names.map((n) => n.length), ...Object.keys(r.rates).map((n) => n.length));
  const lines = [
    `tally report ${r.from} .. ${r.to} (${r.series.days.length} UTC day(s)); figures resting on fewer than ${r.minViewers} viewers are shown as ${hidden}`,
    "",
    `${"event".padEnd(width)}  ${"count".padStart(10)}  ${"viewers".padStart(8)}  per day`,
    ...names.map((n) => {
      const e = r.events[n]!;
      return `${n.padEnd(width)}  ${cell(e.count).padStart(10)}  ${cell(e.viewers).padStart(8)}  ${sparkline(r.series.counts[n] ?? [])}`;
    }),
  ];
  if (Object.keys(r.rates).length > 0) {
    lines.push("", `${"rate".padEnd(width)}  ${"value".padStart(10)}`);
    for (const [n, v] of Object.entries(r.rates)) lines.push(`${n.padEnd(width)}  ${(v === null ? "—" : `${(v * 100).toFixed(1)}%`).padStart(10)}`);
  }
  return lines.join("\n");
}

/** `tally report --csv`: one row per UTC day, one column per event; a suppressed cell is empty. */
export function reportCsv(r: Report): string {
  const names = Object.keys(r.events);
  const rows = [["day", ...names].join(",")];
  r.series.days.forEach((day, i) => rows.push([day, ...names.map((n) => r.series.counts[n]?.[i] ?? "")].join(",")));
  return rows.join("\n");
}
