import request from "supertest";
import { buildTestApp, bearer, newViewer, type TestApp, useTestApp, postIngest } from "../helpers/app.js";
import { countRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;

useTestApp((d, app) => ((db = d), (t = app)));

const ingest = (viewer: string, body: unknown, contentType = "application/json") =>
  postIngest(t, viewer, body, { "content-type": contentType });

describe("POST /ingest", () => {
  test("stores one row per count and answers with the rows stored", async () => {
    const viewer = newViewer();
    const res = await ingest(viewer, { event: "suggestion_accepted", count: 4 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, stored: 4 });
    expect(await countRows(db, { viewerId: t.hash(viewer), event: "suggestion_accepted" })).toBe(4);
  });

  test("stores the keyed hash of the viewer id, never the id itself", async () => {
    const viewer = newViewer("plain-id");
    await ingest(viewer, { event: "suggestion_shown" });
    const { rows } = await db.sql.query("SELECT viewer_id FROM telemetry_event WHERE viewer_id = $1", [viewer]);
    expect(rows).toHaveLength(0);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);
    expect(t.hash(viewer)).toMatch(/^[0-9a-f]{64}$/);
  });

  test.each([
    ["missing count defaults to 1", undefined, 1],
    ["count 1 (lower bound)", 1, 1],
    ["count 50 (upper bound)", 50, 50],
    ["count 51 is clamped to 50", 51, 50],
    ["count 1000000 is clamped to 50", 1_000_000, 50],
    ["count 0 is clamped to 1", 0, 1],
    ["count -5 is clamped to 1", -5, 1],
    ["count 3.7 is 3", 3.7, 3],
    ['count "3" is 3', "3", 3],
    ['count " 7 " is 7', " 7 ", 7],
    ['count "3.7" is 3', "3.7", 3],
    ['count "99" is clamped to 50', "99", 50],
    ['count "-2" is clamped to 1', "-2", 1],
  ])("%s", async (_name, count, expected) => {
    const viewer = newViewer();
    const body = count === undefined ? { event: "suggestion_shown" } : { event: "suggestion_shown", count };
    const res = await ingest(viewer, body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, stored: expected });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(expected);
  });

  test.each([
    ["an array", [{ event: "suggestion_shown" }], "invalid_body"],
    ["a string", '"suggestion_shown"', "invalid_body"],
    ["a number", "42", "invalid_body"],
    ["null", "null", "invalid_body"],
    ["invalid JSON", '{"event": "suggestion_shown",', "invalid_body"],
    ["an extra field", { event: "suggestion_shown", count: 1, text: "hello" }, "invalid_body"],
    ["a __proto__ field", '{"event":"suggestion_shown","__proto__":{"x":1}}', "invalid_body"],
    ["an empty object", {}, "invalid_event"],
    ["an unknown event", { event: "page_view" }, "invalid_event"],
    ["a non-string event", { event: 7 }, "invalid_event"],
    ["an event with different case", { event: "Suggestion_Shown" }, "invalid_event"],
    ["a non-numeric count", { event: "suggestion_shown", count: "three" }, "invalid_count"],
    ["a null count", { event: "suggestion_shown", count: null }, "invalid_count"],
    ["a boolean count", { event: "suggestion_shown", count: true }, "invalid_count"],
    ["an object count", { event: "suggestion_shown", count: { n: 1 } }, "invalid_count"],
    ["an exponent string count", { event: "suggestion_shown", count: "1e3" }, "invalid_count"],
    ["an empty string count", { event: "suggestion_shown", count: "" }, "invalid_count"],
  ])("refuses %s (400) and stores nothing", async (_name, body, code) => {
    const viewer = newViewer();
    const res = await ingest(viewer, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error: code });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  });

  test("an unexpected field wins over an unknown event (shape is checked first)", async () => {
    const res = await ingest(newViewer(), { event: "nope", email: "a@b.c" });
    expect(res.body).toEqual({ ok: false, error: "invalid_body" });
  });

  test("error bodies never echo the submitted value", async () => {
    const secret = "person@example.com";
    const res = await ingest(newViewer(), { event: secret, count: secret });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(secret);
  });

  test("a body without a JSON content type is refused as invalid_body", async () => {
    const viewer = newViewer();
    const res = await ingest(viewer, "event=suggestion_shown", "application/x-www-form-urlencoded");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error: "invalid_body" });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  });

  test("a body that is not what its Content-Encoding says is 400 invalid_body, not a 5xx (found by the fuzz test)", async () => {
    const viewer = newViewer();
    const res = await request(t.app)
      .post("/ingest")
      .set(await bearer(viewer))
      .set("content-type", "application/json")
      .set("content-encoding", "gzip")
      .send('{"event":"suggestion_shown"}');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error: "invalid_body" });
    const unsupported = await request(t.app)
      .post("/ingest")
      .set(await bearer(viewer))
      .set("content-type", "application/json; charset=bogus")
      .send('{"event":"suggestion_shown"}');
    expect(unsupported.body).toEqual({ ok: false, error: "invalid_body" });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  });

  test("a JSON body sent as text/plain (sendBeacon) is accepted", async () => {
    const viewer = newViewer();
    const res = await ingest(viewer, { event: "suggestion_undo", count: 2 }, "text/plain");
    expect(res.body).toEqual({ ok: true, stored: 2 });
  });

  test("a body over 4 KiB is refused with 413 payload_too_large", async () => {
    const viewer = newViewer();
    const res = await ingest(viewer, { event: "suggestion_shown", pad: "x".repeat(5000) });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ ok: false, error: "payload_too_large" });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  });

  test("a request of more rows than the per-minute budget can never fit: 413 payload_too_large, not a 429 to retry forever", async () => {
    const viewer = newViewer();
    const events = Array.from({ length: 13 }, () => ({ event: "suggestion_shown", count: 50 })); // 650 > 600
    const res = await postIngest(t, viewer, { events });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ ok: false, error: "payload_too_large" });
    const fits = await postIngest(t, viewer, { events: events.slice(0, 12) }); // 600
    expect(fits.body).toEqual({ ok: true, stored: 600 });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(600);
  });

  test("without a session: 401 no_viewer, nothing stored", async () => {
    const before = await countRows(db);
    const res = await request(t.app).post("/ingest").send({ event: "suggestion_shown" });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ ok: false, error: "no_viewer" });
    expect(await countRows(db)).toBe(before);
  });

  test("echoes a given x-request-id and makes one when absent", async () => {
    const given = await request(t.app).get("/healthz").set("x-request-id", "0b9d3a52-6f1e-4c2a-9d8b-7e6f5a4b3c2d");
    expect(given.headers["x-request-id"]).toBe("0b9d3a52-6f1e-4c2a-9d8b-7e6f5a4b3c2d");
    const made = await request(t.app).get("/healthz");
    expect(made.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("unknown routes answer 404 not_found in the contract's shape", async () => {
    const res = await request(t.app).get("/users/someone@example.com");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ ok: false, error: "not_found" });
  });
});

describe("kill switch", () => {
  let off: TestApp;
  beforeAll(() => {
    off = buildTestApp(db.url, { TELEMETRY_ENABLED: "false" });
  });
  afterAll(() => off.close());

  test.each(["false", "0"])("TELEMETRY_ENABLED=%s: POST /ingest is 404 telemetry_disabled and stores nothing", async (value) => {
    const app = value === "false" ? off : buildTestApp(db.url, { TELEMETRY_ENABLED: value });
    const viewer = newViewer();
    const res = await request(app.app).post("/ingest").set(await bearer(viewer)).send({ event: "suggestion_shown" });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ ok: false, error: "telemetry_disabled" });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
    if (app !== off) await app.close();
  });

  test("GET /summary is 404 telemetry_disabled", async () => {
    const res = await request(off.app).get("/summary").set(await bearer(newViewer()));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ ok: false, error: "telemetry_disabled" });
  });

  test("explain reports the kill switch state", async () => {
    const res = await request(off.app).get("/explain");
    expect(res.body.telemetryEnabled).toBe(false);
  });
});
