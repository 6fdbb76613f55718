// Idempotency like the best APIs (Stripe's rule): an Idempotency-Key re-used
// with a different body is refused (422 idempotency_key_reused) instead of
// silently replaying the first answer. A session issued in the future is
// refused. /explain is cached for a few seconds so it cannot be used to load
// the database.
import { SignJWT } from "jose";
import request from "supertest";
import { newViewer, postIngest, TEST_SESSION_SECRET, type TestApp, useTestApp } from "../helpers/app.js";
import { countRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
useTestApp((d, a) => {
  db = d;
  t = a;
});

test("the same key with a different body is 422 idempotency_key_reused and stores nothing more", async () => {
  const viewer = newViewer();
  const key = { "idempotency-key": "reuse-me-1" };
  expect((await postIngest(t, viewer, { event: "suggestion_shown", count: 2 }, key)).body).toEqual({ ok: true, stored: 2 });
  const different = await postIngest(t, viewer, { event: "suggestion_accepted", count: 2 }, key);
  expect(different.status).toBe(422);
  expect(different.body).toEqual({ ok: false, error: "idempotency_key_reused" });
  const moreRows = await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, key);
  expect(moreRows.status).toBe(422);
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(2);
});

test("the same key with the same body, however it is written, is replayed", async () => {
  const viewer = newViewer();
  const key = { "idempotency-key": "same-body-1" };
  expect((await postIngest(t, viewer, { event: "suggestion_shown", count: 3 }, key)).status).toBe(200);
  for (const body of ['{"count":3,"event":"suggestion_shown"}', '{"event":"suggestion_shown","count":"3"}', '{"events":[{"event":"suggestion_shown","count":3.2}]}']) {
    const res = await postIngest(t, viewer, body, key);
    expect(res.status).toBe(200);
    expect(res.headers["idempotent-replayed"]).toBe("true");
    expect(res.body).toEqual({ ok: true, stored: 3 });
  }
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(3);
});

test("two concurrent requests with one key and different bodies: one is stored, the other is refused", async () => {
  const viewer = newViewer();
  const key = { "idempotency-key": "race-1" };
  const answers = await Promise.all([
    postIngest(t, viewer, { event: "suggestion_shown", count: 4 }, key),
    postIngest(t, viewer, { event: "suggestion_undo", count: 4 }, key),
  ]);
  expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(4);
});

test("a session whose iat is in the future beyond the clock skew is refused; a few seconds ahead is accepted", async () => {
  const sign = (iatOffset: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(newViewer())
      .setIssuedAt(Math.floor(Date.now() / 1000) + iatOffset)
      .setExpirationTime("2h")
      .sign(new TextEncoder().encode(TEST_SESSION_SECRET));
  const future = await request(t.app).get("/summary").set("authorization", `Bearer ${await sign(3_600)}`);
  expect(future.status).toBe(401);
  const skewed = await request(t.app).get("/summary").set("authorization", `Bearer ${await sign(3)}`);
  expect(skewed.status).toBe(200);
});

test("/explain is cached for a few seconds: a burst of calls reads the database once", async () => {
  const first = await request(t.app).get("/explain");
  expect(first.status).toBe(200);
  expect(first.body.lastPurge).toBeNull();
  await db.sql.query(
    "INSERT INTO telemetry_purge_run (cutoff, rows_deleted, partitions_dropped, duration_ms, trigger) VALUES (now(), 7, 0, 1, 'cli')",
  );
  for (let i = 0; i < 20; i++) {
    const again = await request(t.app).get("/explain");
    expect(again.body.lastPurge).toEqual(first.body.lastPurge); // not read again
  }
  await new Promise((r) => setTimeout(r, 5_200));
  const later = await request(t.app).get("/explain");
  expect(later.body.lastPurge).toEqual({ day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
}, 15_000);
