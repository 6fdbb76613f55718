// Introspection cannot be used as an amplifier or an oracle: concurrent lookups
// of the same credentials share one upstream call, upstream concurrency is
// capped, refusals are cached briefly too, and the cache key (and what is
// forwarded) is only the session cookie and Authorization.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { buildTestApp, newViewer, type TestApp } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let server: Server;
let url: string;
let calls = 0;
let inFlight = 0;
let maxInFlight = 0;
let seen: IncomingHttpHeaders[] = [];
let delayMs = 0;
let down = false;
const apps: TestApp[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  server = createServer((req, res) => {
    calls += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    seen.push(req.headers);
    setTimeout(() => {
      inFlight -= 1;
      if (down) return void res.destroy();
      const m = /session=good-([^;]+)/.exec(req.headers.cookie ?? "");
      res.setHeader("content-type", "application/json");
      if (!m) {
        res.statusCode = 401;
        return void res.end('{"error":"no session"}');
      }
      res.end(JSON.stringify({ id: m[1] }));
    }, delayMs).unref();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  server.closeAllConnections();
  server.closeAllConnections(); // keep-alive sockets would keep this worker alive after its tests
  server.close();
  await db.drop();
});
beforeEach(() => {
  calls = 0;
  maxInFlight = 0;
  seen = [];
  delayMs = 0;
  down = false;
});

function introspecting(extra: Record<string, string> = {}): TestApp {
  const a = buildTestApp(db.url, { AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url, ...extra });
  apps.push(a);
  return a;
}
const summary = (a: TestApp, cookie: string) => request(a.app).get("/summary").set("cookie", cookie);

test("20 concurrent requests with the same credentials make one upstream call", async () => {
  const a = introspecting();
  delayMs = 200;
  const cookie = `session=good-${newViewer()}`;
  const answers = await Promise.all(Array.from({ length: 20 }, () => summary(a, cookie)));
  expect(answers.every((r) => r.status === 200)).toBe(true);
  expect(calls).toBe(1);
});

test("upstream concurrency is capped at 8, however many different credentials arrive at once", async () => {
  const a = introspecting();
  delayMs = 150;
  const answers = await Promise.all(Array.from({ length: 40 }, () => summary(a, `session=good-${newViewer()}`)));
  expect(answers.every((r) => r.status === 200)).toBe(true);
  expect(calls).toBe(40);
  expect(maxInFlight).toBeLessThanOrEqual(8);
}, 20_000);

test("a refusal is cached briefly too: the same bad credentials do not reach the upstream again", async () => {
  const a = introspecting();
  for (let i = 0; i < 5; i++) expect((await summary(a, "session=forged-1")).status).toBe(401);
  expect(calls).toBe(1);
});

test("the cache key is the session cookie and Authorization only: another cookie changing does not bypass it", async () => {
  const a = introspecting();
  const viewer = newViewer();
  for (const theme of ["dark", "light", "blue", "x".repeat(300)]) {
    expect((await summary(a, `theme=${theme}; session=good-${viewer}; _ga=${theme}`)).status).toBe(200);
  }
  expect(calls).toBe(1);
  expect(seen[0]!.cookie).toBe(`session=good-${viewer}`); // nothing else is forwarded
});

test("an upstream that is down is not a refusal: 503 auth_unavailable (retry later), never a viewer, not cached", async () => {
  const a = introspecting();
  down = true;
  const cookie = `session=good-${newViewer()}`;
  const res = await summary(a, cookie);
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ ok: false, error: "auth_unavailable" });
  expect(res.headers["retry-after"]).toBeDefined();
  down = false;
  expect((await summary(a, cookie)).status).toBe(200);
  expect(calls).toBe(2);
});
