// /openapi.json with the tools its users run on it: Redocly's linter (its
// recommended rules, 0 errors and 0 warnings, with and without the report
// routes) and openapi-typescript, whose generated types must fit real answers
// of the service and refuse a misspelt event (tsc on a small client program).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import request from "supertest";
import { bearer, buildTestApp, newViewer, postIngest, type TestApp, randomSecret } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const bin = (name: string) => path.join(ROOT, "node_modules/.bin", name);
/** The linters run offline and quietly: no update check, no usage data. */
const QUIET = { ...process.env, REDOCLY_SUPPRESS_NOTIFICATIONS: "true", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", REDOCLY_TELEMETRY: "off", CI: "true" };

let db: TestDatabase;
let withReport: TestApp;
let without: TestApp;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  withReport = buildTestApp(db.url, { REPORT_TOKEN: randomSecret() });
  without = buildTestApp(db.url);
  dir = mkdtempSync(path.join(tmpdir(), "tally-openapi-"));
});
afterAll(async () => {
  await Promise.all([withReport.close(), without.close()]);
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const served = async (t: TestApp) => (await request(t.app).get("/openapi.json")).text;

test.each([
  ["with REPORT_TOKEN (the report routes documented)", () => withReport],
  ["without it", () => without],
])("`redocly lint` (recommended rules): 0 errors, 0 warnings — %s", async (_name, app) => {
  const file = path.join(dir, `openapi-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, await served(app()));
  const r = spawnSync(bin("redocly"), ["lint", file, "--format=json"], { encoding: "utf8", env: QUIET, timeout: 120_000 });
  const out = JSON.parse(r.stdout) as { totals: { errors: number; warnings: number; ignored: number }; problems: { ruleId: string; message: string }[] };
  expect(out.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
  expect(out.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  expect(r.status).toBe(0);
}, 150_000);

test("openapi-typescript generates a client's types that fit real answers and refuse a misspelt event", async () => {
  const spec = path.join(dir, "tally.json");
  writeFileSync(spec, await served(withReport));
  const gen = spawnSync(bin("openapi-typescript"), [spec, "-o", path.join(dir, "tally-api.ts")], { encoding: "utf8", env: QUIET, timeout: 120_000 });
  expect(gen.stderr).not.toMatch(/error/i);
  expect(gen.status).toBe(0);

  // Real answers of the running service, pasted into the program as literals.
  const viewer = newViewer();
  const ingest = (await postIngest(withReport, viewer, { event: "suggestion_shown", count: 2 })).body as unknown;
  const summary = (await request(withReport.app).get("/summary?days=7&series=day").set(await bearer(viewer))).body as unknown;
  const refused = (await postIngest(withReport, viewer, { event: "nope" })).body as unknown;
  expect(refused).toEqual({ ok: false, error: "invalid_event" });
  writeFileSync(
    path.join(dir, "client.ts"),
    `import type { components, operations, paths } from "./tally-api.js";
type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Ingest = paths["/ingest"]["post"];
export type IngestBody = NonNullable<Ingest["requestBody"]>["content"]["application/json"];
export const body: IngestBody = { event: "suggestion_shown", count: 2 };
export const batch: IngestBody = { events: [{ event: "suggestion_accepted" }, { event: "embeddings_opt_in", count: 1 }] };
export const ingested = ${JSON.stringify(ingest)} satisfies Json<Ingest["responses"]["200"]>;
export const summary = ${JSON.stringify(summary)} satisfies Json<operations["getSummary"]["responses"]["200"]>;
export const refused = ${JSON.stringify(refused)} satisfies Json<Ingest["responses"]["400"]>;
export const anyError: components["schemas"]["Error"] = refused;
export const stored: number = ingested.stored;
// @ts-expect-error a misspelt event is not an IngestBody
export const misspelt: IngestBody = { event: "suggestion_shwon" };
// @ts-expect-error a 400 never carries a 503's code
export const wrongCode: Json<Ingest["responses"]["400"]> = { ok: false, error: "store_unavailable" };
`,
  );
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", skipLibCheck: true }, files: ["client.ts"] }),
  );
  const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8", timeout: 120_000 });
  expect(tsc.stdout + tsc.stderr).toBe("");
  expect(tsc.status).toBe(0);
}, 150_000);
