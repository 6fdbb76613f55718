#!/usr/bin/env node
// `npm start`: serve what `npm run build` made.
//
// Production never builds: no dev tools are needed (a slim or read-only image
// starts), and a process listens in about a second. Without a build it stops
// with one line. Development keeps its convenience: it builds first when the
// sources changed since the last build (a fresh clone: always).
//
// The service runs in this process (no child to lose signals to); package.json
// starts it with the V8 heap ceiling the Dockerfile uses.
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { BUILT_CLI as main, buildState, ROOT as root } from "./build-state.mjs";

const env = process.env;
// The same rule as src/config.ts: without NODE_ENV, a DATABASE_URL means production.
const production = env.NODE_ENV?.trim() ? env.NODE_ENV.trim() === "production" : Boolean(env.DATABASE_URL?.trim());
const state = buildState();

if (production) {
  if (state === "missing") {
    process.stderr.write("tally: dist/cli/main.js is missing: run `npm run build` first (production serves the build, it never builds)\n");
    process.exit(1);
  }
} else if (state !== "fresh") {
  process.stderr.write(state === "stale" ? "tally: sources changed since the last build: building\n" : "tally: building (first start)\n");
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit", env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

process.argv = [process.argv[0], main, "serve", ...process.argv.slice(2)];
await import(pathToFileURL(main).href);
