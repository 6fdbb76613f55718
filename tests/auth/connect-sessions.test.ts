// README "Connect your sessions": each of the three ways a host app's session
// becomes tally's viewer is a file in examples/sessions/, shown verbatim in
// README, and run here against the real service:
//   (a) the host app signs an HS256 token with a shared secret (jose), sent as a cookie;
//   (b) an identity provider's ES256 tokens, verified against its JWKS with issuer
//       and audience, added by a wrapper around the proxy;
//   (c) introspection: the host app's "who am I" endpoint for opaque sessions.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import request from "supertest";
import { buildTestApp, newViewer, TEST_SESSION_SECRET, type TestApp } from "../helpers/app.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";

const ROOT = new URL("../../", import.meta.url);
const example = (name: string) => readFileSync(new URL(`examples/sessions/${name}`, ROOT), "utf8");
/** Imports an example as a host app would run it (plain JavaScript: its type is declared where it is used). */
const load = <T>(name: string) => import(new URL(`examples/sessions/${name}`, ROOT).href) as Promise<T>;

let db: TestDatabase;
const apps: TestApp[] = [];
const servers: Server[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const s of servers) {
    s.closeAllConnections(); // keep-alive sockets would keep this worker alive after its tests
    s.close();
  }
  await db.drop();
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const app = (env: Record<string, string>) => {
  const a = buildTestApp(db.url, env);
  apps.push(a);
  return a;
};

test("README shows each example exactly as it is in examples/sessions/ (so the snippets are the tested ones)", () => {
  const readme = readFileSync(new URL("README.md", ROOT), "utf8");
  for (const name of ["shared-secret.mjs", "identity-provider.mjs", "introspection.mjs"]) {
    expect({ name, shown: readme.includes(`\`\`\`js\n// examples/sessions/${name}\n${example(name)}\`\`\``) }).toEqual({ name, shown: true });
  }
});

test("(a) a shared-secret token in the host app's own cookie is accepted; the proxy forwards only that cookie", async () => {
  process.env.TALLY_SESSION_SECRET = TEST_SESSION_SECRET;
  const { tallySessionToken } = await load<{ tallySessionToken(id: string): Promise<string> }>("shared-secret.mjs");
  const tally = app({ SESSION_COOKIE: "tally_session" });
  const viewer = newViewer("shared");
  const res = await request(tally.app)
    .post("/ingest")
    .set("cookie", `app_session=opaque; tally_session=${await tallySessionToken(viewer)}`)
    .send({ event: "suggestion_shown", count: 2 });
  expect(res.body).toEqual({ ok: true, stored: 2 });
  expect(await countRows(db, { viewerId: tally.hash(viewer) })).toBe(2);
});

test("(b) an identity provider's ES256 access tokens, through the wrapping proxy: accepted with the right issuer and audience, refused otherwise", async () => {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  const jwksUrl = await listen((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
  const tally = app({ SESSION_JWKS_URL: `${jwksUrl}/.well-known/jwks.json`, SESSION_ISSUER: "https://tenant.example/", SESSION_AUDIENCE: "https://tally.example/api" });
  process.env.TALLY_URL = await listen(tally.app);
  const { identityProviderProxy } = await load<{
    identityProviderProxy(token: (req: Request) => Promise<string | null>): (req: Request) => Promise<Response>;
  }>("identity-provider.mjs");
  const sign = (sub: string, aud: string) =>
    new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" }).setSubject(sub).setIssuer("https://tenant.example/").setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(privateKey);
  const viewer = newViewer("idp");
  const ingest = (token: string) =>
    identityProviderProxy(async () => token)(new Request("https://app.example/api/telemetry", { method: "POST", headers: { "content-type": "application/json" }, body: '{"event":"suggestion_accepted","count":3}' }));
  const ok = await ingest(await sign(viewer, "https://tally.example/api"));
  expect([ok.status, await ok.json()]).toEqual([200, { ok: true, stored: 3 }]);
  expect(await countRows(db, { viewerId: tally.hash(viewer) })).toBe(3);
  const wrong = await ingest(await sign(viewer, "https://someone-else.example"));
  expect(wrong.status).toBe(401);
  expect(tally.logs.filter((l) => l.status === 401).at(-1)?.reason).toBe("wrong_audience");
});

test("(c) introspection: the host app's whoami endpoint for an opaque session; signed out is 401 introspection_refused", async () => {
  const { whoami } = await load<{
    whoami(current: (req: { headers: Record<string, string | undefined> }) => Promise<{ id: string } | null>): Parameters<typeof createServer>[1];
  }>("introspection.mjs");
  const sessions = new Map([["s3cr3t-sid-value", { id: "user-42" }]]);
  const url = await listen(whoami(async (req) => sessions.get(/connect\.sid=([^;]+)/.exec(req.headers.cookie ?? "")?.[1] ?? "") ?? null));
  const tally = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: `${url}/internal/tally/whoami`, SESSION_COOKIE: "connect.sid", LOG_REQUESTS: "all" });
  const ok = await request(tally.app).post("/ingest").set("cookie", "connect.sid=s3cr3t-sid-value; theme=dark").send({ event: "suggestion_edited" });
  expect(ok.body).toEqual({ ok: true, stored: 1 });
  expect(await countRows(db, { viewerId: tally.hash("user-42") })).toBe(1);
  const out = await request(tally.app).post("/ingest").set("cookie", "connect.sid=expired-sid").send({ event: "suggestion_edited" });
  expect(out.status).toBe(401);
  expect(tally.logs.filter((l) => l.status === 401).at(-1)?.reason).toBe("introspection_refused");
});
