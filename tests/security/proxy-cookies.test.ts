// The proxy is as safe in a Next.js route as in Express: cookie names are
// matched exactly (a bare `sessionX`, `session_x=…` or `xsession=…` is not the
// `session` cookie), whichever adapter parses the request.
import express from "express";
import request from "supertest";
import { createTelemetryProxy, expressTelemetryProxy } from "../../packages/proxy/src/index.js";
import { useUpstream } from "../helpers/upstream.js";

const upstream = useUpstream();
const cookies = () => upstream.seen.map((s) => s.headers.cookie);

const LOOKALIKES = ["sessionX", "session", "sessionX; xsession=a", "session_x=b; sessions=c", " session =d", "SESSION=e", "=session"];

test.each(LOOKALIKES)("Fetch handler: %p carries no session cookie", async (cookie) => {
  await createTelemetryProxy({ serviceUrl: upstream.url })(new Request("https://a/api/telemetry", { headers: { cookie } }));
  expect(cookies()).toEqual([undefined]);
});

test("Fetch handler: the real cookie is picked out exactly, among lookalikes", async () => {
  await createTelemetryProxy({ serviceUrl: upstream.url })(new Request("https://a/api/telemetry", { headers: { cookie: "sessionX; session=tok=en; session_x=b" } }));
  expect(cookies()).toEqual(["session=tok=en"]);
});

test.each(LOOKALIKES)("Express middleware: %p carries no session cookie", async (cookie) => {
  const app = express();
  app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: upstream.url }));
  await request(app).get("/api/telemetry").set("cookie", cookie);
  expect(cookies()).toEqual([undefined]);
});

// Two `session` cookies that disagree (a sibling subdomain can set one with Domain=.example.com beside the
// app's own): the proxy forwards neither, by the same rule the service reads them with — the viewer is
// no one (401), never the planted session.
const AMBIGUOUS = ["session=victim; session=planted", "session=planted; theme=dark; session=victim"];

test.each(AMBIGUOUS)("Fetch handler: %p is ambiguous: no session cookie is forwarded", async (cookie) => {
  await createTelemetryProxy({ serviceUrl: upstream.url })(new Request("https://a/api/telemetry", { headers: { cookie } }));
  expect(cookies()).toEqual([undefined]);
});

test("Express middleware: two session cookie headers that disagree forward none; the same value twice forwards one", async () => {
  const app = express();
  app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: upstream.url }));
  await request(app).get("/api/telemetry").set("Cookie", ["session=victim", "session=planted"]);
  await request(app).get("/api/telemetry").set("cookie", "session=same; session=same");
  expect(cookies()).toEqual([undefined, "session=same"]);
});

test("the service reads cookies by the same rule (the contract's sessionCookie): ambiguous is no session, whichever value is first", async () => {
  const { sessionCookie } = await import("../../src/contract/index.js");
  expect(sessionCookie("session=a; session=b", "session")).toBeUndefined();
  expect(sessionCookie("session=a; session=a", "session")).toBe("a");
  expect(sessionCookie("other=1; session=tok=en", "session")).toBe("tok=en");
  expect(sessionCookie(' session =d', "session")).toBeUndefined();
});
