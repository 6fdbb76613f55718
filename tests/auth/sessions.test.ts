import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { jest } from "@jest/globals";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose";
import request from "supertest";
import { createJwtResolver, type VerifiedSession } from "../../src/auth/jwt.js";
import { Lru } from "../../src/lib/lru.js";
import { loadConfig } from "../../src/config.js";
import { buildTestApp, newViewer, TEST_ID_SECRET, TEST_SESSION_SECRET, tokenFor, type TestApp, randomSecret } from "../helpers/app.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
const apps: TestApp[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  t = buildTestApp(db.url);
});
afterAll(async () => {
  await Promise.all([t, ...apps].map((a) => a.close()));
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await db.drop();
});

function app(env: Record<string, string>): TestApp {
  const a = buildTestApp(db.url, env);
  apps.push(a);
  return a;
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

async function summaryStatus(a: TestApp, headers: Record<string, string>) {
  return (await request(a.app).get("/summary").set(headers)).status;
}

describe("JWT sessions (HS256)", () => {
  test("a valid token in Authorization: Bearer is the viewer", async () => {
    const viewer = newViewer();
    const res = await request(t.app)
      .post("/ingest")
      .set("authorization", `Bearer ${await tokenFor(viewer)}`)
      .send({ event: "suggestion_shown" });
    expect(res.body).toEqual({ ok: true, stored: 1 });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);
  });

  test("a valid token in the session cookie is the viewer", async () => {
    const viewer = newViewer();
    const res = await request(t.app)
      .post("/ingest")
      .set("cookie", `theme=dark; session=${await tokenFor(viewer)}`)
      .send({ event: "suggestion_shown" });
    expect(res.status).toBe(200);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);
  });

  test("SESSION_COOKIE names the cookie", async () => {
    const a = app({ SESSION_COOKIE: "app_sess" });
    const token = await tokenFor(newViewer());
    expect(await summaryStatus(a, { cookie: `app_sess=${token}` })).toBe(200);
    expect(await summaryStatus(a, { cookie: `session=${token}` })).toBe(401);
  });

  test("an expired token is refused", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(newViewer())
      .setExpirationTime(now() - 60)
      .sign(new TextEncoder().encode(TEST_SESSION_SECRET));
    expect(await summaryStatus(t, { authorization: `Bearer ${token}` })).toBe(401);
  });

  test("a token signed with another key is refused", async () => {
    const token = await tokenFor(newViewer(), { secret: randomSecret() });
    expect(await summaryStatus(t, { authorization: `Bearer ${token}` })).toBe(401);
  });

  test("a token with a forged signature is refused", async () => {
    const token = await tokenFor(newViewer());
    const [h, , s] = token.split(".");
    const forged = `${h}.${b64({ sub: "someone-else", exp: now() + 600 })}.${s}`;
    expect(await summaryStatus(t, { authorization: `Bearer ${forged}` })).toBe(401);
  });

  test("alg: none is refused", async () => {
    const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: newViewer(), exp: now() + 600 })}.`;
    expect(await summaryStatus(t, { authorization: `Bearer ${token}` })).toBe(401);
  });

  test.each([
    ["no sub", (j: SignJWT) => j],
    ["an empty sub", (j: SignJWT) => j.setSubject("")],
  ])("a token with %s is refused", async (_name, claims) => {
    const token = await claims(new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h")).sign(
      new TextEncoder().encode(TEST_SESSION_SECRET),
    );
    expect(await summaryStatus(t, { authorization: `Bearer ${token}` })).toBe(401);
  });

  test("a token without exp is refused", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(newViewer())
      .sign(new TextEncoder().encode(TEST_SESSION_SECRET));
    expect(await summaryStatus(t, { authorization: `Bearer ${token}` })).toBe(401);
  });

  test("SESSION_ISSUER and SESSION_AUDIENCE are checked when set", async () => {
    const a = app({ SESSION_ISSUER: "https://app.example", SESSION_AUDIENCE: "tally" });
    const viewer = newViewer();
    const good = await tokenFor(viewer, { issuer: "https://app.example", audience: "tally" });
    const wrongIssuer = await tokenFor(viewer, { issuer: "https://evil.example", audience: "tally" });
    const wrongAudience = await tokenFor(viewer, { issuer: "https://app.example", audience: "other" });
    const none = await tokenFor(viewer);
    expect(await summaryStatus(a, { authorization: `Bearer ${good}` })).toBe(200);
    expect(await summaryStatus(a, { authorization: `Bearer ${wrongIssuer}` })).toBe(401);
    expect(await summaryStatus(a, { authorization: `Bearer ${wrongAudience}` })).toBe(401);
    expect(await summaryStatus(a, { authorization: `Bearer ${none}` })).toBe(401);
  });

  test("a 10 KB cookie is refused with 401, not an error", async () => {
    expect(await summaryStatus(t, { cookie: `session=${"a".repeat(10_000)}` })).toBe(401);
    expect(await summaryStatus(t, { authorization: `Bearer ${"a".repeat(10_000)}` })).toBe(401);
  });

  test("garbage credentials are refused with 401", async () => {
    for (const authorization of ["Bearer", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer ....", "Bearer x y"]) {
      expect(await summaryStatus(t, { authorization })).toBe(401);
    }
  });
});

describe("verified-token cache", () => {
  test("a token verified once is refused once it has expired, cache or not", async () => {
    const resolve = createJwtResolver(loadConfig({ NODE_ENV: "test", SESSION_SECRET: TEST_SESSION_SECRET }).auth);
    const viewer = newViewer();
    const headers = { authorization: `Bearer ${await tokenFor(viewer, { ttlSeconds: 60 })}` };
    expect(await resolve(headers)).toBe(viewer);
    expect(await resolve(headers)).toBe(viewer); // from the cache
    // Only the clock moves: past exp and jose's 5 s tolerance.
    jest.useFakeTimers({ now: Date.now() + 66_000, doNotFake: ["nextTick", "queueMicrotask", "setImmediate", "setTimeout", "setInterval", "hrtime", "performance"] });
    try {
      expect(await resolve(headers)).toEqual({ refused: "expired" });
    } finally {
      jest.useRealTimers();
    }
  });

  type Kept = "nextTick" | "queueMicrotask" | "setImmediate" | "setTimeout" | "setInterval" | "hrtime" | "performance";
  // Only the clock moves: timers and microtasks stay real.
  const FAKE_CLOCK = { doNotFake: ["nextTick", "queueMicrotask", "setImmediate", "setTimeout", "setInterval", "hrtime", "performance"] as Kept[] };

  test("a cached token is answered up to its exp plus the 5 s tolerance, to the millisecond, and not after", async () => {
    const cache = new Lru<string, VerifiedSession>(10);
    const resolve = createJwtResolver(loadConfig({ NODE_ENV: "test", SESSION_SECRET: TEST_SESSION_SECRET }).auth, cache);
    const viewer = newViewer();
    const exp = now() + 60;
    const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(viewer).setExpirationTime(exp).sign(new TextEncoder().encode(TEST_SESSION_SECRET));
    const headers = { authorization: `Bearer ${token}` };
    expect(await resolve(headers)).toBe(viewer);
    expect(cache.get(token)).toEqual({ viewer, until: (exp + 5) * 1000 });
    try {
      jest.useFakeTimers({ now: (exp + 5) * 1000 - 1, ...FAKE_CLOCK });
      expect(resolve(headers)).toBe(viewer); // from the cache, without a promise
      jest.setSystemTime((exp + 5) * 1000);
      expect(await resolve(headers)).toEqual({ refused: "expired" });
      expect(cache.get(token)).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });

  test("a cache entry lives at most 5 minutes, however long the token: then the token is verified again", async () => {
    const cache = new Lru<string, VerifiedSession>(10);
    const resolve = createJwtResolver(loadConfig({ NODE_ENV: "test", SESSION_SECRET: TEST_SESSION_SECRET }).auth, cache);
    const viewer = newViewer();
    const headers = { authorization: `Bearer ${await tokenFor(viewer, { ttlSeconds: 3_600 })}` };
    const token = headers.authorization.slice(7);
    const start = Date.now();
    try {
      jest.useFakeTimers({ now: start, ...FAKE_CLOCK });
      expect(await resolve(headers)).toBe(viewer);
      expect(cache.get(token)!.until).toBe(start + 5 * 60_000);
      jest.setSystemTime(start + 5 * 60_000);
      const again = resolve(headers);
      expect(again).toBeInstanceOf(Promise); // not answered from the cache: verified again
      expect(await again).toBe(viewer);
      expect(cache.get(token)!.until).toBe(start + 10 * 60_000);
    } finally {
      jest.useRealTimers();
    }
  });

  test("the cache holds at most SESSION_CACHE_SIZE sessions, the most recently used", async () => {
    const auth = loadConfig({ NODE_ENV: "test", SESSION_SECRET: TEST_SESSION_SECRET, SESSION_CACHE_SIZE: "50" }).auth;
    const cache = new Lru<string, VerifiedSession>(auth.cacheSize);
    const resolve = createJwtResolver(auth, cache);
    const viewers = Array.from({ length: 200 }, () => newViewer());
    const tokens = await Promise.all(viewers.map((v) => tokenFor(v)));
    for (let i = 0; i < tokens.length; i++) {
      expect(await resolve({ authorization: `Bearer ${tokens[i]}` })).toBe(viewers[i]);
      // The first session, used again after every other one, is never the least recent.
      expect(await resolve({ authorization: `Bearer ${tokens[0]}` })).toBe(viewers[0]);
      expect(cache.size).toBeLessThanOrEqual(50);
    }
    expect(cache.size).toBe(50);
    expect(cache.get(tokens[0]!)?.viewer).toBe(viewers[0]);
    expect(cache.get(tokens[199]!)?.viewer).toBe(viewers[199]);
    // The first one and the 49 most recent others: 151..199 stay, 150 and older went.
    expect(cache.get(tokens[151]!)).toBeDefined();
    expect(cache.get(tokens[150]!)).toBeUndefined();
  });

  test("a refused token is never cached", async () => {
    const cache = new Lru<string, VerifiedSession>(10);
    const resolve = createJwtResolver(loadConfig({ NODE_ENV: "test", SESSION_SECRET: TEST_SESSION_SECRET }).auth, cache);
    const forged = await tokenFor(newViewer(), { secret: randomSecret() });
    expect(await resolve({ authorization: `Bearer ${forged}` })).toEqual({ refused: "bad_signature" });
    expect(cache.size).toBe(0);
  });
});

describe("JWT sessions (JWKS)", () => {
  let jwksApp: TestApp;
  let keys: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    keys = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const { url } = await listen((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    jwksApp = app({ SESSION_SECRET: "", SESSION_JWKS_URL: `${url}/.well-known/jwks.json` });
  });

  /** A valid RS256 session for a new viewer, signed by the JWKS's key. */
  const signedByJwksKey = () =>
    new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setSubject(newViewer()).setExpirationTime("10m").sign(keys.privateKey);

  test("a token signed by a key of the JWKS is the viewer", async () => {
    const token = await signedByJwksKey();
    expect(await summaryStatus(jwksApp, { authorization: `Bearer ${token}` })).toBe(200);
  });

  test("algorithm confusion: HS256 signed with the public key as the secret is refused", async () => {
    const pem = await exportSPKI(keys.publicKey);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setSubject(newViewer())
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(pem));
    expect(await summaryStatus(jwksApp, { authorization: `Bearer ${token}` })).toBe(401);
  });

  test("an unreachable JWKS never yields a viewer: 503 auth_unavailable (retry later), not a refusal", async () => {
    const down = app({ SESSION_SECRET: "", SESSION_JWKS_URL: "http://127.0.0.1:9/jwks.json" });
    const token = await signedByJwksKey();
    expect(await summaryStatus(down, { authorization: `Bearer ${token}` })).toBe(503);
  });
});

describe("dev viewer", () => {
  test("x-dev-viewer and the dev_viewer cookie work in test and development", async () => {
    const viewer = newViewer();
    await request(t.app).post("/ingest").set("x-dev-viewer", viewer).send({ event: "suggestion_shown" });
    await request(t.app).post("/ingest").set("cookie", `dev_viewer=${viewer}`).send({ event: "suggestion_shown" });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(2);
    const dev = app({ NODE_ENV: "development" });
    expect(await summaryStatus(dev, { "x-dev-viewer": viewer })).toBe(200);
  });

  test("in production the dev header and cookie are ignored, whatever else is set", async () => {
    const prod = app({ NODE_ENV: "production", TELEMETRY_ID_SECRET: TEST_ID_SECRET });
    const viewer = newViewer();
    const res = await request(prod.app).post("/ingest").set("x-dev-viewer", viewer).send({ event: "suggestion_shown" });
    expect(res.status).toBe(401);
    expect(await summaryStatus(prod, { cookie: `dev_viewer=${viewer}` })).toBe(401);
    expect(await countRows(db, { viewerId: prod.hash(viewer) })).toBe(0);
    // a real session still works there
    expect(await summaryStatus(prod, { authorization: `Bearer ${await tokenFor(viewer)}` })).toBe(200);
  });
});

describe("introspection sessions", () => {
  let calls = 0;
  let seenHeaders: Record<string, string | string[] | undefined>[] = [];
  let url: string;

  beforeAll(async () => {
    ({ url } = await listen((req, res) => {
      calls += 1;
      seenHeaders.push(req.headers);
      const cookie = req.headers.cookie ?? "";
      if (req.url === "/slow") return void setTimeout(() => res.end('{"id":"late"}'), 3_000).unref();
      if (req.url === "/garbage") return void res.end("<html>not json</html>");
      if (cookie.includes("sid=good-")) {
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ id: cookie.split("sid=good-")[1]!.split(";")[0] }));
      }
      if (req.headers.authorization === "Token numeric") return void res.end(JSON.stringify({ id: 4242 }));
      res.statusCode = 401;
      res.end('{"error":"no session"}');
    }));
  });
  beforeEach(() => {
    calls = 0;
    seenHeaders = [];
  });

  // The host app's session cookie is `sid`: SESSION_COOKIE names it.
  const introspect = (path = "/me", extra: Record<string, string> = {}) =>
    app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: `${url}${path}`, SESSION_COOKIE: "sid", ...extra });

  test("a 200 JSON answer with an id is the viewer; cookie and authorization are forwarded, nothing else", async () => {
    const a = introspect();
    const viewer = newViewer();
    const res = await request(a.app)
      .post("/ingest")
      .set("cookie", `sid=good-${viewer}`)
      .set("user-agent", "Mozilla/5.0 secret-agent")
      .set("x-forwarded-for", "203.0.113.9")
      .send({ event: "suggestion_shown" });
    expect(res.body).toEqual({ ok: true, stored: 1 });
    expect(await countRows(db, { viewerId: a.hash(viewer) })).toBe(1);
    expect(seenHeaders[0]?.cookie).toBe(`sid=good-${viewer}`);
    expect(seenHeaders[0]?.["x-forwarded-for"]).toBeUndefined();
    expect(seenHeaders[0]?.["user-agent"]).not.toContain("secret-agent");
  });

  test("a numeric id is accepted as the viewer", async () => {
    const a = introspect();
    expect(await summaryStatus(a, { authorization: "Token numeric" })).toBe(200);
  });

  test("positive answers are cached for AUTH_CACHE_SECONDS", async () => {
    const a = introspect();
    const cookie = `sid=good-${newViewer()}`;
    for (let i = 0; i < 3; i++) expect(await summaryStatus(a, { cookie })).toBe(200);
    expect(calls).toBe(1);
    const uncached = introspect("/me", { AUTH_CACHE_SECONDS: "0" });
    for (let i = 0; i < 2; i++) expect(await summaryStatus(uncached, { cookie })).toBe(200);
    expect(calls).toBe(3);
  });

  test("a refusal, no credentials, garbage: 401; a slow or a down endpoint: 503 auth_unavailable; never a viewer", async () => {
    expect(await summaryStatus(introspect(), { cookie: "sid=bad" })).toBe(401);
    expect(await summaryStatus(introspect(), {})).toBe(401);
    expect(calls).toBe(1); // no credentials: not even asked
    expect(await summaryStatus(introspect("/garbage"), { cookie: "sid=good-x" })).toBe(401);
    expect(await summaryStatus(introspect("/slow"), { cookie: "sid=good-x" })).toBe(503);
    const down = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: "http://127.0.0.1:9/me", SESSION_COOKIE: "sid" });
    expect(await summaryStatus(down, { cookie: "sid=good-x" })).toBe(503);
  }, 15_000);
});
