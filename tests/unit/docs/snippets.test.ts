// README's integration snippets are the examples' own lines, and the examples
// are what the end-to-end tests run (tests/e2e/browser.test.ts serves
// examples/host-app, tests/e2e/next-app.test.ts builds examples/next-app). A
// snippet edited in README alone, or an example changed without README, fails here.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const read = (file: string) => readFileSync(`${ROOT}${file}`, "utf8");
const blocks = [...read("README.md").matchAll(/```(?:ts|tsx|js)\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** README's block that `pick` finds, and the example file its lines come from. */
const SNIPPETS: [string, (block: string) => boolean, string][] = [
  ["Next.js route", (b) => b.startsWith("// app/api/telemetry/[[...path]]/route.ts"), "examples/next-app/app/api/telemetry/[[...path]]/route.ts"],
  ["Next.js emitter", (b) => b.startsWith("// app/telemetry.ts"), "examples/next-app/app/telemetry.ts"],
  ["Express proxy", (b) => b.startsWith("// server.mjs"), "examples/host-app/server.mjs"],
  ["Express page: track, sign-in, sign-out, erase", (b) => b.startsWith('import { createTelemetry } from "/vendor/tally-client.js"'), "examples/host-app/public/index.html"],
];

test.each(SNIPPETS)("README's %s snippet is the example's own code", (_name, pick, file) => {
  const found = blocks.filter(pick);
  expect(found).toHaveLength(1);
  const example = new Set(read(file).split("\n").map((l) => l.trim()));
  const lines = found[0]!
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^\/\/ (app\/|server\.mjs$)/.test(l)); // the file-name comment heads the snippet only
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.filter((l) => !example.has(l))).toEqual([]);
});

test("the Express page snippet shows sign-in, sign-out and erasure (reset and forget)", () => {
  const block = blocks.find(SNIPPETS[3]![1])!;
  expect(block.match(/telemetry\.reset\(\)/g)).toHaveLength(2);
  expect(block).toContain("await telemetry.forget()");
});
