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
