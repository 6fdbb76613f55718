// Whether `npm run build` is needed: the newest source (src/, prisma/, the
// package and TypeScript settings) is newer than the built CLI. Shared by
// `npm start` (development builds only when needed) and `npm test`.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BUILT_CLI = path.join(ROOT, "dist/cli/main.js");
const SOURCES = ["src", "prisma", "package.json", "tsconfig.json", "tsconfig.build.json"];

/** The newest modification time under `entry` (a file or a folder; the generated Prisma client excluded), 0 when absent. */
function newest(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(entry).reduce((t, name) => (name === "generated" ? t : Math.max(t, newest(path.join(entry, name)))), stat.mtimeMs);
}

/** "missing", "stale" (sources changed since) or "fresh". */
export function buildState() {
  if (!existsSync(BUILT_CLI)) return "missing";
  const built = statSync(BUILT_CLI).mtimeMs;
  return Math.max(...SOURCES.map((f) => newest(path.join(ROOT, f)))) > built ? "stale" : "fresh";
}
