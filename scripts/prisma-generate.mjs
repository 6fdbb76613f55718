#!/usr/bin/env node
// Runs `prisma generate` on machines that cannot download Prisma's schema-engine
// binary (air-gapped builds, this project's CI). `generate` only checks that the
// binary exists, it never runs it, so when no engine is installed we point
// PRISMA_SCHEMA_ENGINE_BINARY at an existing file. Normal installs are untouched.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const env = { ...process.env };

function engineInstalled() {
  try {
    const dir = path.dirname(require.resolve("@prisma/engines/package.json"));
    return readdirSync(dir).some((f) => f.startsWith("schema-engine"));
  } catch {
    return false;
  }
}

if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !engineInstalled()) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";

let prismaCli;
try {
  prismaCli = require.resolve("prisma/build/index.js");
} catch {
  prismaCli = undefined;
}
if (!prismaCli || !existsSync(prismaCli)) {
  // The Prisma CLI is a development tool: an installed tally package ships its
  // generated client in dist/ and never runs this script.
  console.error("prisma-generate: the prisma CLI is not installed; run `npm install` in the tally checkout (it is a devDependency)");
  process.exit(1);
}
const result = spawnSync(process.execPath, [prismaCli, "generate", ...process.argv.slice(2)], {
  env,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
