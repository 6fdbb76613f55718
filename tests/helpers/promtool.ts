// Prometheus's own linter, `promtool check metrics` (Debian's prometheus
// package carries it). Installed when missing, as the browser tests install
// Chromium; .ci/run installs it beforehand.
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PROMTOOL = process.env.PROMTOOL_PATH ?? "/usr/bin/promtool";

function ensurePromtool(): void {
  if (existsSync(PROMTOOL)) return;
  execSync("apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus", { stdio: "inherit", timeout: 600_000 });
  if (!existsSync(PROMTOOL)) throw new Error(`promtool not found at ${PROMTOOL} after installing prometheus`);
}

/** promtool's findings on an exposition, one per line (empty: clean; promtool exits non-zero when it has any). */
export function promtoolFindings(exposition: string): string[] {
  ensurePromtool();
  const r = spawnSync(PROMTOOL, ["check", "metrics"], { input: exposition, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw r.error;
  const findings = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "");
  if (r.status !== 0 && findings.length === 0) throw new Error(`promtool exited ${r.status} without saying why`);
  return findings;
}
