// The bench's results as text: one table, rendered from a results file
// (bench/results/latest.json), for the terminal and for README's
// "Performance" section, between the markers below. README's figures come
// only from here: `node bench/readme.mjs` regenerates them from latest.json,
// and tests/unit/bench/readme.test.ts fails when README and latest.json disagree.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = new URL("..", import.meta.url);
export const START = "<!-- bench:results — generated from bench/results/latest.json by bench/readme.mjs; do not edit -->";
export const END = "<!-- /bench:results -->";

const num = (x) => (x === null || x === undefined ? "—" : String(x));
/** A median with its spread over the runs: `2750 (2700–2790)`. */
const fig = (s, unit = "") => (s ? `${num(s.median)}${unit}${s.min !== s.max ? ` (${num(s.min)}–${num(s.max)})` : ""}` : "—");

/** The results as a Markdown table and a few lines, from a bench report object. */
export function renderResults(report) {
  const rows = [["scenario", "server", "req/s", "p50 ms", "p99 ms", "Node CPU µs/req", "PostgreSQL CPU µs/req", "busy cores (of " + report.machine.cpus + ")", "non-2xx"]];
  for (const s of report.scenarios) {
    for (const [label, f] of Object.entries(s.servers)) {
      rows.push([s.name, label, fig(f.reqPerSec), fig(f.p50), fig(f.p99), fig(f.nodeUsPerReq), fig(f.pgUsPerReq), fig(f.busyCores), String(f.non2xx)]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  const out = [line(rows[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.slice(1).map(line), ""];
  for (const s of report.scenarios) {
    const r = (a, b) => (s.servers[a] && s.servers[b] ? `${Math.round((s.servers[a].reqPerSec.median / s.servers[b].reqPerSec.median) * 100)} %` : null);
    const ratios = [["tally ÷ bare", r("tally", "bare")], ["tally ÷ naive", r("tally", "naive")], ["tally ×2 ÷ bare ×2", r("tally ×2", "bare ×2")], ["tally ×2 ÷ tally", r("tally ×2", "tally")]].filter(([, v]) => v);
    out.push(`- ${s.name}: ${ratios.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  const d = report.diagnosis;
  if (d) {
    out.push(
      `- where tally's requests wait (one run, 50 connections, sampled every 20 ms): its connections on average ${Object.entries(d.connectionsBy)
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}; event-loop delay p99 ${d.eventLoopDelayP99Ms} ms; GC ${Math.round(d.gcSecondsPerSecond * 100)} % of a core; ${d.batchRequestsMean} requests per group commit, ${d.commitMsMean} ms each`,
    );
  }
  const p = report.purge;
  if (p) out.push(`- purge of ${p.rowsDeleted} expired rows (${p.partitionsDropped} day partition(s), ${p.daysAggregated} day(s) aggregated first) in ${p.purgeMs} ms during ingest: ingest p99 ${p.ingestP99DuringPurge} ms during it (${p.answersDuringPurge} answers) vs ${p.ingestP99WithoutPurge} ms without`);
  const rep = report.report;
  if (rep) {
    out.push(
      `- GET /report?days=30 over ${rep.rows.toLocaleString("en")} rows (${rep.viewers} viewers, ${rep.days} days): the first report aggregated ${rep.daysAggregated} closed days in ${rep.firstReportSeconds} s; then p50 ${rep.aggregated.p50} ms, p99 ${rep.aggregated.p99} ms over ${rep.requests} requests`,
    );
  }
  out.push(`- tally's memory: ${report.tallyStartRssMb} MB after start, ${report.tallyPeakRssMb} MB peak under the ingest runs`);
  const m = report.machine;
  out.push(
    `- ${m.cpus} × ${m.cpu}, ${m.memoryGb} GB, Node ${m.node}, PostgreSQL ${m.postgres} (${m.database}); ${report.settings.seededRows.toLocaleString("en")} rows seeded; ${report.settings.viewers} viewers; each figure the median of ${report.settings.repeats} runs of ${report.settings.durationSeconds} s (spread in brackets), servers alternating; load from ${report.settings.loader}; ${report.date.slice(0, 10)}`,
  );
  return out.join("\n");
}

/** README's block between START and END, regenerated from `report`. */
export function updateReadme(report, readmePath = fileURLToPath(new URL("README.md", ROOT))) {
  const text = readFileSync(readmePath, "utf8");
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} … ${END} block`);
  writeFileSync(readmePath, `${text.slice(0, a + START.length)}\n\n${renderResults(report)}\n\n${text.slice(b)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  updateReadme(JSON.parse(readFileSync(new URL("bench/results/latest.json", ROOT), "utf8")));
}
