// The proxy is as safe in a Next.js route as in Express: cookie names are
// matched exactly (a bare `sessionX`, `session_x=…` or `xsession=…` is not the
// `session` cookie), whichever adapter parses the request.
import express from "express";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { createTelemetryProxy, expressTelemetryProxy } from "../../packages/proxy/src/index.js";

let upstream: Server;
let serviceUrl: string;
let cookies: (string | undefined)[] = [];
beforeAll(async () => {
  upstream = createServer((req, res) => {
    cookies.push(req.headers.cookie);
    res.end("{}");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  serviceUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => {
  upstream.closeAllConnections();
  upstream.close();
});
beforeEach(() => {
  cookies = [];
});

const LOOKALIKES = ["sessionX", "session", "sessionX; xsession=a", "session_x=b; sessions=c", " session =d", "SESSION=e", "=session"];

test.each(LOOKALIKES)("Fetch handler: %p carries no session cookie", async (cookie) => {
  await createTelemetryProxy({ serviceUrl })(new Request("https://a/api/telemetry", { headers: { cookie } }));
  expect(cookies).toEqual([undefined]);
});

test("Fetch handler: the real cookie is picked out exactly, among lookalikes", async () => {
  await createTelemetryProxy({ serviceUrl })(new Request("https://a/api/telemetry", { headers: { cookie: "sessionX; session=tok=en; session_x=b" } }));
  expect(cookies).toEqual(["session=tok=en"]);
});

test.each(LOOKALIKES)("Express middleware: %p carries no session cookie", async (cookie) => {
  const app = express();
  app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl }));
  await request(app).get("/api/telemetry").set("cookie", cookie);
  expect(cookies).toEqual([undefined]);
});
