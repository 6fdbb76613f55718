// A count belongs to the person who was signed in when it was tracked, or to
// nobody: the service refuses a count whose session binding was issued to
// another viewer (a shared browser), is malformed or too old — 409
// session_mismatch, nothing stored — while the same viewer's refreshed
// session (a new token) keeps working. The browser flows are in
// tests/e2e/shared-browser.test.ts.
import request from "supertest";
import { BINDING_HEADER, BINDING_PATTERN, KEY_WINDOW_MS } from "../../src/contract/index.js";
import { createBindings } from "../../src/telemetry/identity.js";
import { bearer, bindingFor, buildTestApp, newViewer, postIngest, TEST_ID_SECRET, tokenFor, type TestApp, useTestApp, randomSecret } from "../helpers/app.js";
import { countRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
useTestApp((d, a) => {
  db = d;
  t = a;
});

const mismatch = [409, { ok: false, error: "session_mismatch" }];

test("GET /binding needs a session (401 no_viewer) and names nobody: two bindings of one viewer share nothing but their shape", async () => {
  const none = await request(t.app).get("/binding");
  expect([none.status, none.body]).toEqual([401, { ok: false, error: "no_viewer" }]);

  const viewer = newViewer("alice");
  const a = await bindingFor(t, viewer);
  const b = await bindingFor(t, viewer);
  for (const binding of [a, b]) {
    expect(binding).toMatch(BINDING_PATTERN);
    expect(binding).not.toContain(viewer);
    expect(binding).not.toContain(t.hash(viewer).slice(0, 8));
  }
  const [, , nonceA, macA] = a.split(".");
  const [, , nonceB, macB] = b.split(".");
  expect(nonceA).not.toBe(nonceB);
  expect(macA).not.toBe(macB);
  const res = await request(t.app).get("/binding").set(await bearer(viewer));
  expect(res.headers["cache-control"]).toBe("no-store");
});

test("a count bound to Alice sent with Bob's session is refused (409 session_mismatch) and stored under nobody", async () => {
  const alice = newViewer("alice");
  const bob = newViewer("bob");
  const alicesBinding = await bindingFor(t, alice);
  const res = await postIngest(t, bob, { event: "suggestion_shown", count: 6 }, { "idempotency-key": "shared-1", [BINDING_HEADER]: alicesBinding });
  expect([res.status, res.body]).toEqual(mismatch);
  expect(await countRows(db, { viewerId: t.hash(bob) })).toBe(0);
  expect(await countRows(db, { viewerId: t.hash(alice) })).toBe(0);
  // The refused key was not claimed: Bob's own request under that key is his.
  const own = await postIngest(t, bob, { event: "suggestion_shown", count: 1 }, { "idempotency-key": "shared-1", [BINDING_HEADER]: await bindingFor(t, bob) });
  expect(own.body).toEqual({ ok: true, stored: 1 });
});

test("the same viewer with a refreshed session (a new token) loses nothing: a binding follows the viewer, not the token", async () => {
  const viewer = newViewer();
  const binding = await bindingFor(t, viewer);
  const later = await tokenFor(viewer, { ttlSeconds: 7200 });
  expect(later).not.toBe((await bearer(viewer)).authorization.slice(7));
  const res = await request(t.app)
    .post("/ingest")
    .set({ authorization: `Bearer ${later}`, "content-type": "application/json", [BINDING_HEADER]: binding })
    .send(JSON.stringify({ event: "suggestion_accepted", count: 4 }));
  expect(res.body).toEqual({ ok: true, stored: 4 });
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(4);
});

test("a malformed, forged or expired binding is refused; a binding under another id secret is another viewer's", async () => {
  const viewer = newViewer();
  const good = await bindingFor(t, viewer);
  const [v, issued, nonce, mac] = good.split(".");
  const flipped = mac!.startsWith("A") ? `B${mac!.slice(1)}` : `A${mac!.slice(1)}`;
  const bindings = createBindings(TEST_ID_SECRET);
  const old = bindings.issue(t.hash(viewer), (Date.now() - KEY_WINDOW_MS - 60_000) * 1000);
  const otherSecret = createBindings(randomSecret()).issue(t.hash(viewer), Date.now() * 1000);
  const laterIssue = `${v}.${(Number.parseInt(issued!, 36) + 1_000_000).toString(36)}.${nonce}.${mac}`;
  for (const bad of ["", "b1", "x".repeat(60), `${v}.${issued}.${nonce}.${flipped}`, laterIssue, old, otherSecret, `${good}x`]) {
    const res = await postIngest(t, viewer, { event: "suggestion_shown" }, { [BINDING_HEADER]: bad });
    expect([bad, res.status, res.body]).toEqual([bad, ...mismatch]);
  }
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  // A binding issued 23 hours ago is still accepted.
  const recent = bindings.issue(t.hash(viewer), (Date.now() - 23 * 3_600_000) * 1000);
  expect((await postIngest(t, viewer, { event: "suggestion_shown" }, { [BINDING_HEADER]: recent })).body).toEqual({ ok: true, stored: 1 });
});

test("a request without a binding (curl, a server) is stored as before: it cannot be dated, so it is not refused", async () => {
  const viewer = newViewer();
  expect((await postIngest(t, viewer, { event: "suggestion_shown", count: 2 })).body).toEqual({ ok: true, stored: 2 });
});

test("with the kill switch off GET /binding is 404 telemetry_disabled, like ingest", async () => {
  const off = buildTestApp(db.url, { TELEMETRY_ENABLED: "false" });
  try {
    const res = await request(off.app).get("/binding").set(await bearer(newViewer()));
    expect([res.status, res.body]).toEqual([404, { ok: false, error: "telemetry_disabled" }]);
  } finally {
    await off.close();
  }
});
