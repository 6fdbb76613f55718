// `tally types`: a team with its own catalog (TELEMETRY_CATALOG) gets the event
// names as a type, so createTelemetry<EventName>() refuses a misspelt event at
// compile time — checked with tsc on a host-app file, as the host app would.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runCliAsync } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "tally-types-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const catalog = {
  events: [
    { name: "export_opened", description: "The export dialog was opened.", surface: "toolbar", privacyClass: "usage-count" },
    { name: "export_done", description: "An export finished.", surface: "toolbar", privacyClass: "usage-count" },
  ],
  rates: [{ name: "export_completion", numerator: "export_done", denominator: "export_opened" }],
};

/** tsc on one host-app file, with @tally/client resolved to the package's sources. */
function typecheck(name: string, source: string): { code: number | null; output: string } {
  writeFileSync(path.join(dir, name), source);
  const tsconfig = path.join(dir, `tsconfig.${name}.json`);
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        module: "ESNext",
        moduleResolution: "Bundler",
        skipLibCheck: true,
        paths: { "@tally/client": [path.join(ROOT, "packages/client/src/index.ts")] },
      },
      files: [name],
    }),
  );
  const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, output: r.stdout + r.stderr };
}

test("types for a custom catalog: its events type-check, a misspelt one (or a default-catalog one) fails tsc", async () => {
  const file = path.join(dir, "catalog.json");
  writeFileSync(file, JSON.stringify(catalog));
  const r = await runCliAsync(["types"], { TELEMETRY_CATALOG: file, NODE_ENV: "production" }); // needs no database, no secret
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('export type EventName =\n  | "export_opened"\n  | "export_done";');
  expect(r.stdout).toContain('export type RateName =\n  | "export_completion";');
  writeFileSync(path.join(dir, "telemetry-events.d.ts"), r.stdout);

  const host = (event: string) => `import { createTelemetry } from "@tally/client";
import type { EventName, RateName } from "./telemetry-events";
const telemetry = createTelemetry<EventName>({ endpoint: "/api/telemetry" });
telemetry.track("export_opened");
telemetry.track(${JSON.stringify(event)}, 2);
export const rate: RateName = "export_completion";
`;
  const good = typecheck("good.ts", host("export_done"));
  expect(good.output).toBe("");
  expect(good.code).toBe(0);
  const misspelt = typecheck("misspelt.ts", host("export_dnoe"));
  expect(misspelt.code).not.toBe(0);
  expect(misspelt.output).toMatch(/misspelt\.ts\(5,\d+\): error TS2345: Argument of type '"export_dnoe"'/);
  const foreign = typecheck("foreign.ts", host("suggestion_shown"));
  expect(foreign.output).toMatch(/error TS2345: Argument of type '"suggestion_shown"'/);
}, 180_000);

test("a catalog that does not load is one line and exit 1", async () => {
  const file = path.join(dir, "broken.json");
  writeFileSync(file, "{ not json");
  const r = await runCliAsync(["types"], { TELEMETRY_CATALOG: file });
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/TELEMETRY_CATALOG/);
});
