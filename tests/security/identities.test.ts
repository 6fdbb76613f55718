// Exact identities: a session's `sub` is compared exactly as a string (RFC 7519),
// never trimmed, case- or Unicode-folded or coerced from a number. What is not a
// well-formed string is refused (401); everything else is kept byte for byte.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";
import request from "supertest";
import { buildTestApp, TEST_SESSION_SECRET, type TestApp, useTestApp } from "../helpers/app.js";
import { countRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
useTestApp((d, a) => {
  db = d;
  t = a;
});

/** An HS256 session whose claims are exactly `claims` (sub of any JSON type). */
function sessionWith(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(TEST_SESSION_SECRET));
}

async function ingestAs(app: TestApp, headers: Record<string, string>) {
  return request(app.app).post("/ingest").set(headers).send({ event: "suggestion_shown" });
}

test.each([
  ["a number", 42, ["42"]],
  ["surrounding white space with a tab", " victim\t", ["victim", " victim\t", " victim"]],
  ["a lone surrogate", "user\uD800", ["user\uFFFD", "user"]],
  ["a NUL", "vic\u0000tim", ["victim", "vic\u0000tim"]],
  ["a C0 control", "vic\u001ftim", ["victim"]],
  ["a C1 control", "\u0085victim", ["victim"]],
  ["an empty string", "", [""]],
  ["a 257-character string", "v".repeat(257), ["v".repeat(257), "v".repeat(256)]],
  ["an object", { id: "victim" }, ["victim", "[object Object]"]],
  ["true", true, ["true"]],
])("a sub that is %s is refused (401) and maps to no viewer", async (_name, sub, lookalikes) => {
  const res = await ingestAs(t, { authorization: `Bearer ${await sessionWith({ sub })}` });
  expect(res.status).toBe(401);
  expect(res.body).toEqual({ ok: false, error: "no_viewer" });
  for (const v of lookalikes as string[]) expect(await countRows(db, { viewerId: t.hash(v) })).toBe(0);
});

test.each([
  [" victim", "victim"],
  ["Victim", "victim"],
  ["\uFB01le", "file"], // ﬁ is not folded to fi
  ["caf\u0065\u0301", "caf\u00e9"], // no Unicode normalisation
  ["user\uD83D\uDE00", "user\uFFFD"], // a well-formed astral character is kept
])("a well-formed sub %p is kept byte for byte: it is not %p", async (sub, other) => {
  const res = await ingestAs(t, { authorization: `Bearer ${await sessionWith({ sub })}` });
  expect(res.status).toBe(200);
  expect(await countRows(db, { viewerId: t.hash(sub) })).toBe(1);
  expect(await countRows(db, { viewerId: t.hash(other) })).toBe(0);
});

describe("introspection ids", () => {
  let server: Server;
  let url: string;
  let answer: unknown;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(typeof answer === "string" && answer.startsWith("RAW:") ? answer.slice(4) : JSON.stringify({ id: answer }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.closeAllConnections(); // keep-alive sockets would keep this worker alive after its tests
    server.close();
  });

  let n = 0;
  /** A fresh app (no cached answer) asking the introspection endpoint. */
  async function introspected(id: unknown) {
    answer = id;
    const app = buildTestApp(db.url, { AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url, AUTH_CACHE_SECONDS: "0" });
    try {
      n += 1;
      return await ingestAs(app, { cookie: `session=opaque-${n}` });
    } finally {
      await app.close();
    }
  }

  test("a JSON string id follows the same rules as sub; a non-negative safe integer becomes its decimal string", async () => {
    expect((await introspected("intro-user-7")).status).toBe(200);
    expect(await countRows(db, { viewerId: t.hash("intro-user-7") })).toBe(1);
    expect((await introspected(4242)).status).toBe(200);
    expect(await countRows(db, { viewerId: t.hash("4242") })).toBe(1);
    expect((await introspected("RAW:{\"id\":4.2e3}")).status).toBe(200); // the JSON number 4200
    expect(await countRows(db, { viewerId: t.hash("4200") })).toBe(1);
  });

  test.each([
    [" intro-victim\t", "intro-victim"],
    ["RAW:{\"id\":\"user\\ud800\"}", "user\uFFFD"],
    [-1, "-1"],
    [42.5, "42"],
    [2 ** 53, String(2 ** 53)],
    [true, "true"],
    [null, "null"],
    [["a"], "a"],
  ])("an id %p is refused (401) and maps to no viewer", async (id, lookalike) => {
    const res = await introspected(id);
    expect(res.status).toBe(401);
    expect(await countRows(db, { viewerId: t.hash(lookalike) })).toBe(0);
  });
});
