// GET /openapi.json against what is really served: real responses of every
// route (successes and the contract's errors) validate against the document's
// schema for that path, method and status (JSON Schema 2020-12, as OpenAPI 3.1
// uses), and every documented operation is exercised. A route answering
// something the document does not say fails here.
import Ajv2020 from "ajv/dist/2020.js";
import request from "supertest";
import { bearer, bindingFor, buildTestApp, newViewer, postIngest, type TestApp, randomSecret } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const TOKEN = randomSecret();

let db: TestDatabase;
let t: TestApp;
let doc: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }>; requestBody?: { content: Record<string, { schema: object }> } }>>; components: { schemas: Record<string, object> } };
const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false, allErrors: true });
const exercised = new Set<string>();

beforeAll(async () => {
  db = await createTestDatabase();
  t = buildTestApp(db.url, { REPORT_TOKEN: TOKEN, TELEMETRY_RATE_LIMIT: "10" });
  const res = await request(t.app).get("/openapi.json");
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await t.close();
  await db.drop();
});

/** A schema with the document's `#/components/schemas/…` references replaced by what they name (ajv compiles schemas alone). */
function deref(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(deref);
  if (!schema || typeof schema !== "object") return schema;
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === "string") {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    if (!name || !doc.components.schemas[name]) throw new Error(`unresolved $ref ${ref}`);
    return deref(doc.components.schemas[name]);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, deref(v)]));
}

/** Validates a real response against the document; remembers the operation as exercised. */
function conforms(path: string, method: string, res: request.Response): void {
  const operation = doc.paths[path]?.[method];
  if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in /openapi.json`);
  const documented = operation.responses[String(res.status)];
  if (!documented) throw new Error(`${method.toUpperCase()} ${path} answered ${res.status}, which /openapi.json does not list`);
  const type = String(res.headers["content-type"]).split(";")[0]!;
  const media = documented.content?.[type];
  if (!media) throw new Error(`${method.toUpperCase()} ${path} ${res.status} answered ${type}, not documented`);
  const body = type === "application/json" ? res.body : res.text;
  const validate = ajv.compile(deref(media.schema) as object);
  if (!validate(body)) throw new Error(`${method.toUpperCase()} ${path} ${res.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`);
  exercised.add(`${method} ${path}`);
}

test("is OpenAPI 3.1 with the contract's routes", () => {
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths).sort()).toEqual(["/binding", "/explain", "/healthz", "/ingest", "/me", "/openapi.json", "/readyz", "/report", "/report/page", "/summary"]);
});

test("POST /ingest: every answer validates, and the request schema accepts exactly what the service accepts", async () => {
  const viewer = newViewer();
  conforms("/ingest", "post", await postIngest(t, viewer, { event: "suggestion_shown", count: 2 }));
  conforms("/ingest", "post", await postIngest(t, viewer, { events: [{ event: "suggestion_accepted" }] }, { "idempotency-key": "k-1" }));
  conforms("/ingest", "post", await postIngest(t, viewer, { events: [{ event: "suggestion_accepted" }] }, { "idempotency-key": "k-1" }));
  conforms("/ingest", "post", await postIngest(t, viewer, { events: [{ event: "suggestion_skipped" }] }, { "idempotency-key": "k-1" })); // 422
  conforms("/ingest", "post", await postIngest(t, viewer, "{not json"));
  conforms("/ingest", "post", await postIngest(t, viewer, { event: "nope" }));
  conforms("/ingest", "post", await postIngest(t, viewer, { event: "suggestion_shown", count: "lots" }));
  conforms("/ingest", "post", await postIngest(t, viewer, { event: "suggestion_shown", count: 11 })); // over the budget of 10: 413
  conforms("/ingest", "post", await postIngest(t, viewer, { event: "suggestion_shown", count: 9 })); // budget spent: 429
  conforms("/ingest", "post", await request(t.app).post("/ingest").set("content-type", "application/json").send('{"event":"suggestion_shown"}'));
  conforms("/ingest", "post", await postIngest(t, viewer, { event: "suggestion_shown" }, { origin: "https://evil.example", "sec-fetch-site": "cross-site" }));
  const other = newViewer();
  conforms("/ingest", "post", await postIngest(t, other, { event: "suggestion_shown" }, { "tally-binding": await bindingFor(t, viewer) })); // 409
  const bound = await bindingFor(t, other);
  await request(t.app).delete("/me").set(await bearer(other));
  conforms("/ingest", "post", await postIngest(t, other, { event: "suggestion_shown" }, { "tally-binding": bound })); // 410

  const schema = doc.paths["/ingest"]!.post!.requestBody!.content["application/json"]!.schema;
  const validate = ajv.compile(schema);
  for (const ok of [{ event: "suggestion_shown" }, { event: "suggestion_shown", count: "3" }, { events: [{ event: "embeddings_opt_in", count: 2 }] }]) expect(validate(ok)).toBe(true);
  for (const bad of [{ event: "nope" }, { event: "suggestion_shown", extra: 1 }, { events: [] }, { events: Array.from({ length: 26 }, () => ({ event: "suggestion_shown" })) }]) {
    expect(validate(bad)).toBe(false);
    const res = await postIngest(t, newViewer(), bad);
    expect(res.status).toBe(400);
  }
});

test("the other routes: successes and errors validate", async () => {
  const viewer = newViewer();
  const session = await bearer(viewer);
  conforms("/summary", "get", await request(t.app).get("/summary").set(session));
  conforms("/summary", "get", await request(t.app).get("/summary?days=30&series=day").set(session));
  conforms("/summary", "get", await request(t.app).get("/summary?days=x").set(session));
  conforms("/summary", "get", await request(t.app).get("/summary"));
  conforms("/binding", "get", await request(t.app).get("/binding").set(session));
  conforms("/binding", "get", await request(t.app).get("/binding"));
  conforms("/me", "delete", await request(t.app).delete("/me").set(session));
  conforms("/me", "delete", await request(t.app).delete("/me"));
  conforms("/me", "delete", await request(t.app).delete("/me").set(session).set({ origin: "https://evil.example" }));
  conforms("/healthz", "get", await request(t.app).get("/healthz"));
  conforms("/readyz", "get", await request(t.app).get("/readyz"));
  conforms("/explain", "get", await request(t.app).get("/explain"));
  conforms("/openapi.json", "get", await request(t.app).get("/openapi.json"));
  conforms("/report", "get", await request(t.app).get("/report?days=7").set({ authorization: `Bearer ${TOKEN}` }));
  conforms("/report", "get", await request(t.app).get("/report?from=2026-01-01&to=2026-01-31").set({ authorization: `Bearer ${TOKEN}` }));
  conforms("/report", "get", await request(t.app).get("/report?days=x").set({ authorization: `Bearer ${TOKEN}` }));
  conforms("/report", "get", await request(t.app).get("/report?from=2026-01-31&to=2026-01-01").set({ authorization: `Bearer ${TOKEN}` }));
  conforms("/report", "get", await request(t.app).get("/report").set(session));
  conforms("/report/page", "get", await request(t.app).get("/report/page"));

  // Anything unmatched: the documented Error shape.
  const missing = await request(t.app).get("/no-such-route");
  expect(missing.status).toBe(404);
  expect(ajv.compile(doc.components.schemas.Error!)(missing.body)).toBe(true);
});

test("with telemetry switched off, the 404 telemetry_disabled answers are documented too", async () => {
  const off = buildTestApp(db.url, { TELEMETRY_ENABLED: "false" });
  try {
    const viewer = newViewer();
    conforms("/ingest", "post", await postIngest(off, viewer, { event: "suggestion_shown" }));
    conforms("/summary", "get", await request(off.app).get("/summary").set(await bearer(viewer)));
    conforms("/binding", "get", await request(off.app).get("/binding").set(await bearer(viewer)));
  } finally {
    await off.close();
  }
});

test("every documented operation was exercised", () => {
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
  expect([...exercised].sort()).toEqual(documented.sort());
});
