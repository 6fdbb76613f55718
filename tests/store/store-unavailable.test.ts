import request from "supertest";
import { buildTestApp, bearer, newViewer, type TestApp } from "../helpers/app.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { proxyFor, type TcpProxy } from "../helpers/tcp-proxy.js";

let db: TestDatabase;
let proxy: TcpProxy;
let t: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = proxyFor(db.url);
  await proxy.start();
  t = buildTestApp(proxy.rewrite(db.url));
});
afterAll(async () => {
  await t.close();
  await proxy.stop();
  await db.drop();
});

test("database down: 503 store_unavailable, nothing stored, the process keeps serving, and it recovers by itself", async () => {
  const viewer = newViewer();
  const auth = await bearer(viewer);
  expect((await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown" })).body).toEqual({
    ok: true,
    stored: 1,
  });

  await proxy.stop();
  const ingest = await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown", count: 5 });
  expect(ingest.status).toBe(503);
  expect(ingest.body).toEqual({ ok: false, error: "store_unavailable" });
  const summary = await request(t.app).get("/summary").set(auth);
  expect(summary.status).toBe(503);
  expect(summary.body).toEqual({ ok: false, error: "store_unavailable" });
  expect((await request(t.app).delete("/me").set(auth)).status).toBe(503);
  expect((await request(t.app).get("/readyz")).status).toBe(503);
  expect((await request(t.app).get("/healthz")).body).toEqual({ ok: true });
  const explain = await request(t.app).get("/explain");
  expect(explain.status).toBe(200);
  expect(explain.body.storeReachable).toBe(false);
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);

  await proxy.start();
  expect((await request(t.app).get("/readyz")).body).toEqual({ ok: true });
  const again = await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown", count: 2 });
  expect(again.body).toEqual({ ok: true, stored: 2 });
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(3);
  // The outage was logged as a warning without request data.
  const warnings = t.logs.filter((l) => l.msg === "store unavailable");
  expect(warnings.length).toBeGreaterThan(0);
});
