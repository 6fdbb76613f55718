// Every refusal explains itself to the operator, never to the attacker: a
// 4xx's log line carries the contract's error code, a 401's the class of the
// refusal (no credential, malformed, bad signature, expired, not yet valid,
// wrong issuer or audience, …) — never the token or a claim — while the
// client still gets only `no_viewer`. `tally doctor` reads a token from stdin
// and says, in one command, whether this configuration accepts it and why not.
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import request from "supertest";
import { buildTestApp, newViewer, TEST_SESSION_SECRET, tokenFor, type TestApp, randomSecret } from "../helpers/app.js";
import { CLI, cliEnv } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
beforeAll(async () => {
  db = await createTestDatabase();
  t = buildTestApp(db.url, { LOG_REQUESTS: "all", SESSION_ISSUER: "https://app.example", SESSION_AUDIENCE: "tally" });
});
afterAll(async () => {
  await t.close();
  await db.drop();
});

const key = new TextEncoder().encode(TEST_SESSION_SECRET);
const sign = (claims: { sub?: string; iss?: string; aud?: string; exp?: number; nbf?: number }, secret = key, alg = "HS256") => {
  let jwt = new SignJWT({}).setProtectedHeader({ alg }).setIssuedAt(Math.floor(Date.now() / 1000) - 10);
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  if (claims.iss !== undefined) jwt = jwt.setIssuer(claims.iss);
  if (claims.aud !== undefined) jwt = jwt.setAudience(claims.aud);
  if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) jwt = jwt.setNotBefore(claims.nbf);
  return jwt.sign(secret);
};
const now = () => Math.floor(Date.now() / 1000);
const good = { sub: "refusal-viewer-555-0100", iss: "https://app.example", aud: "tally", exp: now() + 600 };

test("each 401 logs its reason class and the error code; the answer is only no_viewer; no token or claim is logged", async () => {
  const cases: [string, Record<string, string>][] = [
    ["no_credential", {}],
    ["malformed", { authorization: "Bearer not.a.jwt" }],
    ["bad_signature", { authorization: `Bearer ${await sign(good, new TextEncoder().encode(randomSecret()))}` }],
    ["expired", { authorization: `Bearer ${await sign({ ...good, exp: now() - 600 })}` }],
    ["not_yet_valid", { authorization: `Bearer ${await sign({ ...good, nbf: now() + 600 })}` }],
    ["wrong_issuer", { authorization: `Bearer ${await sign({ ...good, iss: "https://evil.example" })}` }],
    ["wrong_audience", { authorization: `Bearer ${await sign({ ...good, aud: "someone-else" })}` }],
    ["missing_claim", { authorization: `Bearer ${await sign({ ...good, sub: undefined })}` }],
    ["invalid_subject", { authorization: `Bearer ${await sign({ ...good, sub: "tab\tinside" })}` }],
    ["wrong_algorithm", { authorization: `Bearer ${await sign(good, key, "HS512")}` }],
  ];
  for (const [reason, headers] of cases) {
    const res = await request(t.app).get("/summary").set(headers);
    expect([reason, res.status, res.body]).toEqual([reason, 401, { ok: false, error: "no_viewer" }]);
    const line = t.logs.filter((l) => l.msg === "request").at(-1)!;
    expect([reason, line.status, line.error, line.reason]).toEqual([reason, 401, "no_viewer", reason]);
  }
  const logs = t.rawLogs.join("\n");
  for (const secret of ["refusal-viewer", "555-0100", "evil.example", "someone-else", "eyJ"]) expect(logs).not.toContain(secret);
  // A valid session is still accepted under the same configuration.
  expect((await request(t.app).get("/summary").set({ authorization: `Bearer ${await sign(good)}` })).status).toBe(200);
});

/** `tally doctor` as a process, the token on stdin. */
function doctor(input: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "doctor"], { env: cliEnv(env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe("tally doctor", () => {
  // Production, with only what doctor uses: no DATABASE_URL, no id secret.
  const env = { NODE_ENV: "production", SESSION_SECRET: TEST_SESSION_SECRET, SESSION_AUDIENCE: "tally" };

  test("a token this configuration accepts: exit 0, and the viewer it names", async () => {
    const token = await sign({ sub: "alice", aud: "tally", exp: now() + 600 });
    for (const input of [token, `Bearer ${token}`, `session=${token}`, `${token}\n`]) {
      const r = await doctor(input, env);
      expect([r.code, r.stdout.trim()]).toEqual([0, 'accepted (AUTH_MODE=jwt, HS256 with SESSION_SECRET): viewer id "alice"']);
    }
  });

  test("a host app whose secret differs: refused, bad_signature, with this secret's fingerprint to compare; exit 1", async () => {
    const token = await tokenFor(newViewer(), { secret: randomSecret(), audience: "tally" });
    const r = await doctor(token, env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^refused \(AUTH_MODE=jwt, HS256 with SESSION_SECRET\): bad_signature\n {2}it was not signed with SESSION_SECRET \(fingerprint [0-9a-f]{8};/);
    expect(r.stdout).not.toContain(TEST_SESSION_SECRET);
  });

  test("expired and wrong-audience tokens say so; nothing on stdin is a usage error (exit 2)", async () => {
    expect((await doctor(await sign({ sub: "a", aud: "tally", exp: now() - 60 }), env)).stdout).toContain("refused (AUTH_MODE=jwt, HS256 with SESSION_SECRET): expired");
    expect((await doctor(await sign({ sub: "a", aud: "other", exp: now() + 60 }), env)).stdout).toContain("wrong_audience");
    const empty = await doctor("", env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^tally: give the session token on stdin/);
  });

  /** A local HTTP server for the test's lifetime (an identity provider's JWKS, a host app's whoami). */
  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => void }> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  test("keys from an identity provider's JWKS: accepted, an unknown kid, and the provider down (cannot tell: 503 auth_unavailable)", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const idp = await serve((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
    const jwksEnv = { NODE_ENV: "production", SESSION_JWKS_URL: `${idp.url}/.well-known/jwks.json`, SESSION_ISSUER: "https://idp.example/", SESSION_AUDIENCE: "tally" };
    const idpToken = (kid: string) =>
      new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).setSubject("bob").setIssuer("https://idp.example/").setAudience("tally").setIssuedAt().setExpirationTime("5m").sign(privateKey);
    try {
      const ok = await doctor(await idpToken("k1"), jwksEnv);
      expect([ok.code, ok.stdout.trim()]).toEqual([0, 'accepted (AUTH_MODE=jwt, keys from SESSION_JWKS_URL): viewer id "bob"']);
      const unknown = await doctor(await idpToken("k9"), jwksEnv);
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).toMatch(/^refused \(AUTH_MODE=jwt, keys from SESSION_JWKS_URL\): unknown_key\n {2}no key of SESSION_JWKS_URL \(http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json\) matches its kid/);
    } finally {
      idp.close();
    }
    const down = await doctor(await idpToken("k1"), jwksEnv);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^cannot tell \(AUTH_MODE=jwt, keys from SESSION_JWKS_URL\): .*tally would answer 503 auth_unavailable/);
  });

  test("introspection of an opaque session: the host app's whoami accepts one cookie value and refuses another", async () => {
    const whoami = await serve((req, res) => {
      const signedIn = (req.headers.cookie ?? "").split("; ").includes("connect.sid=s%3Agood");
      if (signedIn) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "carol" }));
      else res.writeHead(401).end();
    });
    const introspectEnv = { NODE_ENV: "production", AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: `${whoami.url}/internal/tally/whoami`, SESSION_COOKIE: "connect.sid" };
    try {
      const ok = await doctor("s%3Agood", introspectEnv); // the cookie's value, as the browser sends it
      expect([ok.code, ok.stdout.trim()]).toEqual([0, 'accepted (AUTH_MODE=introspect): viewer id "carol"']);
      const asCookie = await doctor("connect.sid=s%3Agood", introspectEnv);
      expect(asCookie.code).toBe(0);
      const refused = await doctor("s%3Astale", introspectEnv);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^refused \(AUTH_MODE=introspect\): introspection_refused\n {2}AUTH_INTROSPECT_URL \(http:\/\/127\.0\.0\.1:\d+\/internal\/tally\/whoami\) answered 401, 403 or 404 for it/);
    } finally {
      whoami.close();
    }
  });
});
