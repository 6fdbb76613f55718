// Nothing a client chooses reaches the logs: a request id is echoed back only
// as a UUID or a W3C trace id (shapes that cannot carry a name), anything else
// is answered with a new UUID; and even a well-shaped id — hex can spell a
// phone number — is never logged: logs carry ids the service (or the proxy,
// server-side) made, unless TALLY_TRUST_REQUEST_ID says an upstream sets them.
import request from "supertest";
import { createTelemetryProxy } from "../../packages/proxy/src/index.js";
import { buildTestApp, type TestApp, useTestApp } from "../helpers/app.js";
import type { TestDatabase } from "../helpers/database.js";
import { useUpstream } from "../helpers/upstream.js";

let t: TestApp;
let db: TestDatabase;
useTestApp((d, a) => {
  db = d;
  t = a;
});

const UUID = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const NAMES = ["alice.smith_1985:555-0100", "req-123.abc", "00000000000000000000000000000000", "4BF92F3577B34DA6A3CE929D0E0E473", "x".repeat(36)];

test.each([UUID, UUID.toUpperCase(), TRACE_ID])("the service echoes a client request id shaped %p", async (id) => {
  const res = await request(t.app).get("/healthz").set("x-request-id", id);
  expect(res.headers["x-request-id"]).toBe(id);
});

test("a well-shaped id that spells a phone number is echoed, never logged; the log line carries the service's own id", async () => {
  const phone = "00000000-0000-4000-8000-014155550100";
  const res = await request(t.app).get("/no-such-route").set("x-request-id", phone); // a 404: logged on its own line
  expect(res.headers["x-request-id"]).toBe(phone);
  const line = t.logs.filter((l) => l.msg === "request").at(-1)!;
  expect(line.reqId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(line.reqId).not.toBe(phone);
  expect(t.rawLogs.join("\n")).not.toContain("014155550100");
});

test("with TALLY_TRUST_REQUEST_ID an upstream's id is logged (an explicit setting)", async () => {
  const trusting = buildTestApp(db.url, { TALLY_TRUST_REQUEST_ID: "true" });
  try {
    await request(trusting.app).get("/no-such-route").set("x-request-id", UUID);
    expect(trusting.logs.filter((l) => l.msg === "request").at(-1)!.reqId).toBe(UUID);
  } finally {
    await trusting.close();
  }
});

test.each(NAMES)("the service replaces %p with a new UUID, and the log never holds it", async (id) => {
  const res = await request(t.app).get("/healthz").set("x-request-id", id);
  expect(res.headers["x-request-id"]).not.toBe(id);
  expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(t.rawLogs.join("\n")).not.toContain(id);
});

describe("the proxy", () => {
  const upstream = useUpstream("{}");

  test("sends the service an id it made itself; echoes a UUID or trace id back to the client, and replaces anything else", async () => {
    const proxy = createTelemetryProxy({ serviceUrl: upstream.url });
    for (const id of [UUID, TRACE_ID, ...NAMES]) {
      const res = await proxy(new Request("https://a/api/telemetry", { headers: { "x-request-id": id } }));
      const forwarded = upstream.seen.at(-1)!.headers["x-request-id"];
      expect(forwarded).not.toBe(id);
      expect(forwarded).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(res.headers.get("x-request-id")).toBe(id === UUID || id === TRACE_ID ? id : forwarded);
    }
  });
});
