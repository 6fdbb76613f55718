// Thousands of generated bodies, content types, headers and query strings:
// every answer is 2xx or a 4xx with a contract error code, never a 5xx; a
// refused request stores nothing; no answer echoes what was sent; the process
// stays up. Every generated string carries a marker so an echo is detectable.
import fc from "fast-check";
import request from "supertest";
import { ERROR_STATUS } from "../../src/contract/index.js";
import { newViewer, type TestApp, useTestApp } from "../helpers/app.js";
import { countRows, type TestDatabase } from "../helpers/database.js";

const MARK = "ZQX";
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const codes = new Set(Object.keys(ERROR_STATUS));
const events = ["suggestion_shown", "suggestion_accepted", "embeddings_opt_out"];

let db: TestDatabase;
let t: TestApp;
useTestApp((d, app) => ((db = d), (t = app)), { TELEMETRY_RATE_LIMIT: "0" });

const marked = fc.string({ maxLength: 40 }).map((s) => `${MARK}${s}`);
const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => (typeof v === "string" ? `${MARK}${v}` : v));
const count = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -100, max: 100 }).map(String),
  marked,
  fc.constantFrom(null, true, false, [], {}, "3.7", " 12 ", "1e3", "", "0x10"),
);
const item = fc.record(
  { event: fc.oneof(fc.constantFrom(...events), marked, anyJson), count, [`${MARK}extra`]: anyJson },
  { requiredKeys: [] },
);
const body = fc.oneof(
  item.map((v) => JSON.stringify(v)),
  fc.array(item, { maxLength: 30 }).map((items) => JSON.stringify({ events: items })),
  fc.record({ events: anyJson }).map((v) => JSON.stringify(v)),
  anyJson.map((v) => JSON.stringify(v)),
  marked, // not JSON at all
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1")),
  fc.constant(`{"event":"suggestion_shown","pad":"${MARK}${"x".repeat(5000)}"}`),
);
const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "application/json; charset=bogus",
  "text/plain",
  "application/vnd.api+json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "",
);
const headerValue = fc.string({ maxLength: 60 }).map((s) => `${MARK}${s}`.replace(/[^\x20-\x7e]/g, "?"));
const extraHeaders = fc.record(
  {
    "idempotency-key": fc.oneof(headerValue, fc.uuid()),
    "content-encoding": fc.constantFrom("gzip", "deflate", "br", "identity", "x-weird"),
    "x-request-id": headerValue,
    cookie: headerValue.map((v) => `session=${v}; dev_viewer=${v}`),
    authorization: headerValue.map((v) => `Bearer ${v}`),
  },
  { requiredKeys: [] },
);

function expectContractAnswer(res: request.Response) {
  expect(res.status).toBeLessThan(500);
  expect(res.text).not.toContain(MARK);
  if (res.status >= 400) {
    expect(res.body.ok).toBe(false);
    expect(codes.has(res.body.error)).toBe(true);
  }
}

test(`POST /ingest: ${RUNS} generated bodies, content types and headers`, async () => {
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(body, contentType, extraHeaders, async (raw, type, headers) => {
      const viewer = newViewer("fuzz");
      const req = request(t.app).post("/ingest").set(headers).set("x-dev-viewer", viewer);
      if (type) req.set("content-type", type);
      const res = await req.send(raw);
      expectContractAnswer(res);
      const rows = await countRows(db, { viewerId: t.hash(viewer) });
      if (res.status === 200) expect(rows).toBe(res.body.stored);
      else {
        refused += 1;
        expect(rows).toBe(0);
      }
    }),
    { numRuns: RUNS },
  );
  expect(refused).toBeGreaterThan(RUNS / 2); // the generators mostly produce bad input
  expect((await request(t.app).get("/healthz")).body).toEqual({ ok: true });
}, 300_000);

test(`GET /summary: ${Math.ceil(RUNS / 3)} generated query strings`, async () => {
  const query = fc.oneof(
    marked.map((s) => `days=${encodeURIComponent(s)}`),
    fc.integer().map((n) => `days=${n}`),
    fc.array(fc.integer({ min: -5, max: 50 }), { maxLength: 3 }).map((a) => a.map((n) => `days=${n}`).join("&")),
    fc.tuple(marked, marked).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}&series=day`),
    marked.map((s) => `days[${encodeURIComponent(s)}]=1&series=${encodeURIComponent(s)}`),
    fc.constant("days=%ZZ"),
  );
  await fc.assert(
    fc.asyncProperty(query, async (qs) => {
      const res = await request(t.app).get(`/summary?${qs}`).set("x-dev-viewer", "fuzz-summary");
      expectContractAnswer(res);
      if (res.status === 200) {
        expect(res.body.days).toBeGreaterThanOrEqual(1);
        expect(res.body.days).toBeLessThanOrEqual(30);
      } else expect(res.body.error).toBe("invalid_days");
    }),
    { numRuns: Math.ceil(RUNS / 3) },
  );
}, 300_000);
