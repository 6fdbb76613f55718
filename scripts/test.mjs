#!/usr/bin/env node
// `npm test`: every stage runs, and the exit code is non-zero if any failed.
//
//   build -> typecheck -> lint -> package builds -> jest (parallel suites)
//         -> jest (browser and fault tests, one file at a time)
//
// A failing stage does not hide the others (only the tests need the build:
// they are skipped, and reported, when it fails). A summary with each stage's
// result and time ends the run.
//
// `npm test -- <test files or folders> [jest options]` runs only those files
// (building first only if the sources changed since the last build), one at a
// time when they are browser or fault tests.
import { spawnSync } from "node:child_process";
import { buildState, ROOT } from "./build-state.mjs";

const args = process.argv.slice(2);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const JEST = ["--experimental-vm-modules", "node_modules/jest/bin/jest.js"];
const ISOLATED = ["tests/e2e", "tests/faults"];

function run(cmd, cmdArgs) {
  const started = performance.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: "inherit", env: process.env });
  return { ok: r.status === 0, seconds: (performance.now() - started) / 1000 };
}
const jest = (jestArgs) => run(process.execPath, [...JEST, ...jestArgs]);

if (args.length > 0) {
  // One file (or a few): the loop of a newcomer changing one thing.
  const paths = args.filter((a) => !a.startsWith("-"));
  if (buildState() !== "fresh") {
    process.stderr.write("tally: sources changed since the last build: building first (the CLI and process tests run dist/)\n");
    if (!run(npm, ["run", "--silent", "build"]).ok) process.exit(1);
  }
  if (paths.some((p) => /tests\/(e2e|packages)/.test(p)) && !run(npm, ["run", "--silent", "build:packages"]).ok) process.exit(1);
  const isolated = paths.length > 0 && paths.every((p) => ISOLATED.some((dir) => p.startsWith(dir)));
  process.exit(jest([...(isolated ? ["--runInBand"] : []), ...args]).ok ? 0 : 1);
}

const stages = [];
const stage = (name, fn) => {
  process.stderr.write(`\n── ${name} ${"─".repeat(Math.max(0, 60 - name.length))}\n`);
  const result = fn();
  stages.push({ name, ...result });
  return result.ok;
};

/** Tracked files that differ from git's index (empty outside a git checkout): a test run must not change any. */
const changedTracked = () => {
  const r = spawnSync("git", ["diff", "--name-only"], { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split("\n").filter(Boolean).sort() : [];
};
const trackedBefore = changedTracked();

const built = stage("build", () => run(npm, ["run", "--silent", "build"]));
stage("typecheck", () => run(npm, ["run", "--silent", "typecheck"]));
stage("lint", () => run(npm, ["run", "--silent", "lint"]));
const packages = stage("package builds", () => run(npm, ["run", "--silent", "build:packages"]));
const skip = (why) => ({ ok: false, seconds: 0, skipped: why });
stage("tests (parallel suites)", () => (built ? jest(["--testPathIgnorePatterns=/tests/faults/", "/tests/e2e/"]) : skip("the build failed")));
stage("tests (browser and faults, one file at a time)", () =>
  built && packages ? jest(["--runInBand", ...ISOLATED]) : skip(built ? "the package builds failed" : "the build failed"),
);

stage("no tracked file written by the tests", () => {
  const written = changedTracked().filter((f) => !trackedBefore.includes(f));
  if (written.length) process.stderr.write(`tests changed tracked files: ${written.join(", ")}\n`);
  return { ok: written.length === 0, seconds: 0 };
});

process.stderr.write("\n── summary ──────────────────────────────────────────────────────\n");
for (const s of stages) {
  const result = s.skipped ? `not run (${s.skipped})` : s.ok ? "ok" : "FAILED";
  process.stderr.write(`${s.name.padEnd(50)} ${result.padEnd(10)} ${s.seconds.toFixed(0).padStart(4)} s\n`);
}
const failed = stages.filter((s) => !s.ok);
process.stderr.write(failed.length ? `\n${failed.length} stage(s) failed\n` : "\nevery stage passed\n");
process.exit(failed.length ? 1 : 0);
