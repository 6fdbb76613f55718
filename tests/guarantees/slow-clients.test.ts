// Slow clients and a hung database cannot hold tally: a slow-loris client is
// cut off by the server timeouts, and a request the store cannot answer gets
// 503 at the request deadline instead of hanging.
import { connect, type Socket } from "node:net";
import request from "supertest";
import { TEST_ID_SECRET, TEST_SESSION_SECRET, bearer, buildTestApp, newViewer } from "../helpers/app.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";
import { proxyFor } from "../helpers/tcp-proxy.js";

const DEADLINE_MS = 1_000;
let db: TestDatabase;
let tally: Proc;

beforeAll(async () => {
  db = await createTestDatabase();
  tally = await startTally({
    DATABASE_URL: db.url,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    REQUEST_TIMEOUT_MS: String(DEADLINE_MS),
  });
}, 60_000);
afterAll(async () => {
  await killAll();
  await db.drop();
});

/** Opens a socket to tally and resolves with how long the server let it live. */
function slowClient(drip: (socket: Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const socket = connect(tally.port, "127.0.0.1", () => drip(socket));
    socket.on("error", () => {});
    socket.on("close", () => resolve(Date.now() - t0));
    socket.setTimeout(10_000, () => socket.destroy()); // the test's own bound: counted as a failure below
  });
}

test("slow-loris: 100 clients dribbling headers are cut off, and tally keeps answering others meanwhile", async () => {
  const timers: NodeJS.Timeout[] = [];
  const loris = Array.from({ length: 100 }, () =>
    slowClient((socket) => {
      socket.write("POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      timers.push(setInterval(() => socket.writable && socket.write("x"), 100));
    }),
  );
  try {
    const t0 = Date.now();
    const health = await fetch(`${tally.url}/healthz`);
    expect(health.status).toBe(200);
    const ingest = await fetch(`${tally.url}/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await bearer(newViewer())) },
      body: JSON.stringify({ event: "suggestion_shown" }),
    });
    expect(ingest.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(DEADLINE_MS);

    const lifetimes = await Promise.all(loris);
    // headersTimeout = the deadline, checked every 250 ms here
    for (const ms of lifetimes) expect(ms).toBeLessThan(DEADLINE_MS + 1_000);
  } finally {
    timers.forEach(clearInterval);
  }
}, 30_000);

test("a client that sends its headers and then trickles the body is cut off too", async () => {
  const lifetime = await slowClient((socket) => {
    socket.write(
      "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 40\r\nx-dev-viewer: slow\r\n\r\n{",
    );
    const drip = setInterval(() => (socket.writable ? socket.write(" ") : clearInterval(drip)), 200);
    socket.on("close", () => clearInterval(drip));
  });
  // requestTimeout = 1.5 × the deadline
  expect(lifetime).toBeGreaterThanOrEqual(DEADLINE_MS);
  expect(lifetime).toBeLessThan(DEADLINE_MS * 1.5 + 1_000);
  expect(await countRows(db, { event: "suggestion_shown" })).toBe(1); // only the first test's ingest
}, 30_000);

test("a hung database: the request deadline answers 503 store_unavailable, nothing stored, then it recovers", async () => {
  const proxy = proxyFor(db.url);
  await proxy.start();
  const t = buildTestApp(proxy.rewrite(db.url), { REQUEST_TIMEOUT_MS: "300" });
  try {
    const viewer = newViewer();
    const auth = await bearer(viewer);
    expect((await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown" })).status).toBe(200);

    proxy.stall();
    const t0 = Date.now();
    const hung = await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown", count: 4 });
    const waited = Date.now() - t0;
    expect(hung.status).toBe(503);
    expect(hung.body).toEqual({ ok: false, error: "store_unavailable" });
    expect(hung.headers["retry-after"]).toBe("1");
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2_000);
    const summary = await request(t.app).get("/summary").set(auth);
    expect(summary.status).toBe(503);

    await proxy.stop(); // cuts the hung connections
    await proxy.start();
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);
    const again = await request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown", count: 2 });
    expect(again.body).toEqual({ ok: true, stored: 2 });
  } finally {
    await t.close();
    await proxy.stop();
  }
}, 30_000);
