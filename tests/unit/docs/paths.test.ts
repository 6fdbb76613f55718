// Docs that cannot drift: every repository path that README, CONTRIBUTING,
// docs/ or a source comment names (src/…, tests/…, prisma/…, bench/…) must
// exist. A rename that forgets a reference fails here, not in a newcomer's hands.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** A path inside the repository, as prose names it: a top-level folder, then segments, ending in a file or a folder. */
const PATH = /(?<![\w./@-])((?:src|tests|prisma|bench|scripts|docs|packages|examples)\/[A-Za-z0-9_./-]*[A-Za-z0-9_])/g;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (["node_modules", "dist", "generated", "results", ".next"].includes(name)) continue;
    if (statSync(path.join(ROOT, rel)).isDirectory()) yield* files(rel);
    else if (/\.(ts|mjs|js|sql|md|prisma)$/.test(name)) yield rel;
  }
}

/** tests/lint/boundaries.test.ts names files it writes itself, to show the lint refusing them. */
const sources = ["README.md", "CONTRIBUTING.md", ...["docs", "src", "prisma", "bench", "scripts", "tests", "packages/client/src", "packages/proxy/src"].flatMap((d) => [...files(d)])].filter(
  (f) => f !== "tests/lint/boundaries.test.ts",
);

/** A module named relative to src/ (comments say "telemetry/record.ts"): it must be there. */
const SRC_RELATIVE = /(?<![\w./@-])((?:auth|catalog|cli|contract|dashboard|http|jobs|lib|metrics|report|store|telemetry)\/[\w.-]+\.ts)\b/g;

test.each(sources)("%s names only paths that exist", (file) => {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const missing = new Set<string>();
  for (const [, named] of text.matchAll(PATH)) {
    const p = named!.replace(/[.]+$/, "");
    // A pattern (…/<name>.sql, [[...path]]) or a file the test suite creates is not a reference.
    if (/[<*]|\.\.\.|NAME/.test(p)) continue;
    // A package's own path (require.resolve("prisma/build/index.js")) is not the repository's.
    if (!existsSync(path.join(ROOT, p)) && !existsSync(path.join(ROOT, "node_modules", p))) missing.add(p);
  }
  for (const [, named] of text.matchAll(SRC_RELATIVE)) {
    if (!existsSync(path.join(ROOT, "src", named!)) && !existsSync(path.join(ROOT, path.dirname(file), named!))) missing.add(named!);
  }
  expect([...missing]).toEqual([]);
});
