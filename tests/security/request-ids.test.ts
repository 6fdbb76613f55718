// Nothing a client chooses reaches the logs verbatim: a request id is accepted
// only as a UUID or a W3C trace id (shapes that cannot carry a name); anything
// else is replaced by a new UUID, by the service and by the proxy alike.
import request from "supertest";
import { createTelemetryProxy } from "../../packages/proxy/src/index.js";
import { type TestApp, useTestApp } from "../helpers/app.js";
import { useUpstream } from "../helpers/upstream.js";

let t: TestApp;
useTestApp((_db, a) => (t = a));

const UUID = "3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const NAMES = ["alice.smith_1985:555-0100", "req-123.abc", "00000000000000000000000000000000", "4BF92F3577B34DA6A3CE929D0E0E473", "x".repeat(36)];

test.each([UUID, UUID.toUpperCase(), TRACE_ID])("the service keeps a client request id shaped %p", async (id) => {
  const res = await request(t.app).get("/healthz").set("x-request-id", id);
  expect(res.headers["x-request-id"]).toBe(id);
});

test.each(NAMES)("the service replaces %p with a new UUID, and the log never holds it", async (id) => {
  const res = await request(t.app).get("/healthz").set("x-request-id", id);
  expect(res.headers["x-request-id"]).not.toBe(id);
  expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(t.rawLogs.join("\n")).not.toContain(id);
});

describe("the proxy", () => {
  const upstream = useUpstream("{}");

  test("forwards a UUID or trace id as is and replaces anything else", async () => {
    const proxy = createTelemetryProxy({ serviceUrl: upstream.url });
    for (const id of [UUID, TRACE_ID, ...NAMES]) {
      const res = await proxy(new Request("https://a/api/telemetry", { headers: { "x-request-id": id } }));
      const forwarded = upstream.seen.at(-1)!.headers["x-request-id"];
      expect(res.headers.get("x-request-id")).toBe(forwarded);
      if (id === UUID || id === TRACE_ID) expect(forwarded).toBe(id);
      else expect(forwarded).not.toBe(id);
    }
  });
});
