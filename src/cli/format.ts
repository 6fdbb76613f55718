import type { Manifest } from "../telemetry/explain.js";
import type { Report } from "../telemetry/report.js";

/** "1 day", "2 days": counted nouns read right at any number. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** How a suppressed figure reads everywhere (table, page, README): `<K`. */
export const suppressed = (k: number) => `<${k}`;

/** `tally explain` for people: the same content as --json, readable in a terminal or a review doc. */
export function formatManifest(m: Manifest): string {
  const dp = m.aggregates.differentialPrivacy;
  const lines = [
    `tally — ${m.description}`,
    "",
    `Telemetry enabled: ${m.telemetryEnabled ? "yes" : "no (TELEMETRY_ENABLED is off)"}`,
    `Retention: ${plural(m.retention.days, "day")}, purged on schedule "${m.retention.purgeSchedule}"`,
    `Viewer identity: ${m.viewerIdentity}`,
    "",
    `Stored, one row per count (${m.stored.table}):`,
    ...m.stored.columns.map((c) => `  ${c.name.padEnd(11)} ${c.description}`),
    "",
    "Every table holding data derived from a viewer (erased by DELETE /me and tally forget):",
    ...m.viewerData.flatMap((t) => [`  ${t.table} (${t.columns.join(", ")})`, `    kept: ${t.retention}`]),
    "",
    "Kept through an erasure, keyed so it cannot be joined with the viewer's rows:",
    ...m.keptThroughErasure.flatMap((t) => [`  ${t.table} (${t.columns.join(", ")})`, `    why: ${t.why}`, `    kept: ${t.retention}`]),
    "",
    `Anonymous daily aggregates (${m.aggregates.table}, no viewer id):`,
    ...m.aggregates.columns.map((c) => `  ${c.name.padEnd(11)} ${c.description}`),
    `  kept: ${m.aggregates.retention}`,
    `  erasure: ${m.aggregates.erasure}`,
    "  published by these rules:",
    ...m.aggregates.publication.map((p) => `    - ${p}`),
    dp.enabled
      ? `  differential privacy: ${dp.mechanism}; ε ${dp.epsilonPerCell} per cell (${dp.split}); at most ε ${dp.epsilonPerViewerPerDay} per viewer per day (${dp.why})`
      : `  differential privacy: ${dp.how}`,
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
  ];
  const op = m.operator;
  if (!m.storeReachable) lines.push("Last purge: unknown (database unreachable)");
  else if (op) {
    lines.push(
      op.lastPurge
        ? `Last purge: ${op.lastPurge.ranAt} (${op.lastPurge.trigger}), ${plural(op.lastPurge.rowsDeleted, "row")} older than ${op.lastPurge.cutoff} deleted, ${plural(op.lastPurge.partitionsDropped, "day partition")} dropped`
        : "Last purge: none yet",
      op.oldestRow ? `Oldest remaining row: ${plural(op.oldestRow.ageDays, "day")} old (${op.oldestRow.createdAt})` : "Oldest remaining row: none",
    );
  } else lines.push(m.lastPurge ? `Last purge: ${m.lastPurge.day}` : "Last purge: none yet");
  return lines.join("\n");
}

const SPARKS = "▁▂▃▄▅▆▇█";

/** One character per day, scaled to the largest day shown; a suppressed or unknown day is a space, no counts a dot. */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  return values
    .map((v) => (v === null ? " " : v === 0 ? "·" : SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1)))]))
    .join("");
}

/** `tally report` for people: per event the count, viewer-days and per-day sparkline; then the rates. */
export function formatReport(r: Report): string {
  const hidden = suppressed(r.minViewers);
  const cell = (v: number | null) => (v === null ? hidden : String(v));
  const names = Object.keys(r.events);
  const width = Math.max(5, ...names.map((n) => n.length), ...Object.keys(r.rates).map((n) => n.length));
  const closed = r.series.days.length - r.inProgress.length;
  const lines = [
    `tally report ${r.from} .. ${r.to} (${plural(closed, "closed UTC day")}${r.inProgress.length ? `; ${r.inProgress.join(", ")} in progress, not shown` : ""})`,
    `Cells (one day × one event) resting on fewer than ${r.minViewers} viewers are shown as ${hidden}; totals and rates use shown cells only;` +
      ` each viewer counts at most ${r.maxPerViewer} per cell${r.epsilon !== null ? `; noise: ε ${r.epsilon} per cell` : ""}.`,
    "",
    `${"event".padEnd(width)}  ${"count".padStart(10)}  ${"viewer-days".padStart(11)}  ${"days hidden".padStart(11)}  per day`,
    ...names.map((n) => {
      const e = r.events[n]!;
      return `${n.padEnd(width)}  ${cell(e.count).padStart(10)}  ${cell(e.viewerDays).padStart(11)}  ${String(e.daysSuppressed).padStart(11)}  ${sparkline(r.series.counts[n] ?? [])}`;
    }),
  ];
  if (Object.keys(r.rates).length > 0) {
    lines.push("", `${"rate".padEnd(width)}  ${"value".padStart(10)}`);
    const rate = (n: string, v: number | null) => (v !== null ? `${(v * 100).toFixed(1)} %` : r.suppressedRates.includes(n) ? hidden : "—");
    for (const [n, v] of Object.entries(r.rates)) lines.push(`${n.padEnd(width)}  ${rate(n, v).padStart(10)}`);
  }
  return lines.join("\n");
}

/** `tally report --csv`: one row per UTC day, one column per event; a suppressed cell (or a day in progress) is empty. */
export function reportCsv(r: Report): string {
  const names = Object.keys(r.events);
  const rows = [["day", ...names].join(",")];
  r.series.days.forEach((day, i) => rows.push([day, ...names.map((n) => r.series.counts[n]?.[i] ?? "")].join(",")));
  return rows.join("\n");
}
