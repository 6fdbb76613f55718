// Sessions from an introspection endpoint at the edges: the cookie is forwarded
// exactly as sent (never decoded, so nothing is smuggled in), a cookie that is
// not cookie-octets is no session rather than an outage, and a request still
// waiting on a slow endpoint at its deadline blames the session's source.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { useTestApps, type TestApp } from "../helpers/app.js";

const { app } = useTestApps();

describe("introspection", () => {
  let server: Server;
  let url: string;
  let seen: IncomingHttpHeaders[] = [];
  let delayMs = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ id: "intro-person" }));
      }, delayMs).unref();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => {
    seen = [];
    delayMs = 0;
  });

  test("the session cookie is forwarded exactly as sent, never decoded (no cookie smuggled in)", async () => {
    const t = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url });
    expect((await request(t.app).get("/summary").set("cookie", "session=abc%3B%20admin%3D1")).status).toBe(200);
    expect(seen[0]!.cookie).toBe("session=abc%3B%20admin%3D1");
  });

  test.each(['session="quoted"', "session=a\\b"])("a cookie %p that is not cookie-octets is no session (401), not an outage", async (cookie) => {
    const t = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url });
    const res = await request(t.app).get("/summary").set("cookie", cookie);
    expect(res.status).toBe(401);
    expect(seen).toHaveLength(0);
  });

  test("the answers cached are at most SESSION_CACHE_SIZE, least recently used out", async () => {
    const ask = async (t: TestApp, session: string) => expect((await request(t.app).get("/summary").set("cookie", `session=${session}`)).status).toBe(200);
    const small = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url, SESSION_CACHE_SIZE: "1" });
    for (const session of ["one", "two", "one"]) await ask(small, session);
    expect(seen).toHaveLength(3); // "one" was pushed out by "two"
    seen = [];
    const roomy = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url, SESSION_CACHE_SIZE: "10" });
    for (const session of ["one", "two", "one"]) await ask(roomy, session);
    expect(seen).toHaveLength(2);
  });

  test("a request still waiting on a slow introspection at its deadline is 503 auth_unavailable, not store_unavailable", async () => {
    const t = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url, REQUEST_TIMEOUT_MS: "300" });
    delayMs = 1_500;
    const res = await request(t.app).get("/summary").set("cookie", "session=slow-one");
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ ok: false, error: "auth_unavailable" });
    expect(t.logs.filter((l) => l.msg === "store unavailable")).toEqual([]);
  });
});
