// Errors tell the truth: a slow client is a 408 logged at info (not an outage);
// only connection, timeout and resource failures of the database are
// 503 store_unavailable; anything else is a logged 500 internal with its stack;
// store-failure log lines carry the database error's code and message.
import { createServer } from "node:http";
import { connect } from "node:net";
import request from "supertest";
import { bearer, buildTestApp, newViewer, postIngest, type TestApp } from "../helpers/app.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { proxyFor } from "../helpers/tcp-proxy.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function withApp<T>(url: string, env: Record<string, string>, work: (t: TestApp) => Promise<T>): Promise<T> {
  const t = buildTestApp(url, env);
  try {
    return await work(t);
  } finally {
    await t.close();
  }
}

test("a client that sends its body too slowly gets 408 request_timeout, logged at info, and no outage warning", async () => {
  await withApp(db.url, { REQUEST_TIMEOUT_MS: "300" }, async (t) => {
    const server = createServer(t.app).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const { port } = server.address() as { port: number };
    const auth = (await bearer(newViewer())).authorization;
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(`POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization: ${auth}\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{"event"`);
      });
      let out = "";
      socket.on("data", (d) => (out += d));
      socket.on("close", () => resolve(out));
      socket.on("error", () => {});
      setTimeout(() => socket.destroy(), 3_000);
    });
    server.close();
    server.closeAllConnections();
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('{"ok":false,"error":"request_timeout"}');
    const line = t.logs.find((l) => l.status === 408);
    expect(line).toMatchObject({ level: 30, route: "/ingest" });
    expect(t.logs.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });
}, 20_000);

test("a database error that is not an outage (a missing function) is 500 internal, logged with its stack and code", async () => {
  const broken = await createTestDatabase();
  try {
    await broken.sql.query("DROP FUNCTION tally_ingest");
    await withApp(broken.url, {}, async (t) => {
      const res = await postIngest(t, newViewer(), { event: "suggestion_shown" });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ ok: false, error: "internal" });
      const line = t.logs.find((l) => l.status === 500) as { level: number; err?: { stack?: string; code?: string } } | undefined;
      expect(line?.level).toBe(50);
      expect(line?.err?.code).toBe("42883"); // undefined_function
      expect(line?.err?.stack).toMatch(/\n\s+at /);
      expect(t.logs.filter((l) => l.msg === "store unavailable")).toEqual([]);
    });
  } finally {
    await broken.drop();
  }
});

test("a database that is down is 503 store_unavailable, and the warning carries the error's code and message", async () => {
  const proxy = proxyFor(db.url);
  await proxy.start();
  await withApp(proxy.rewrite(db.url), {}, async (t) => {
    const viewer = newViewer();
    expect((await postIngest(t, viewer, { event: "suggestion_shown" })).status).toBe(200);
    await proxy.stop();
    const res = await postIngest(t, viewer, { event: "suggestion_shown" });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ ok: false, error: "store_unavailable" });
    const warning = t.logs.find((l) => l.msg === "store unavailable") as { level: number; err: { code?: string; message?: string } } | undefined;
    expect(warning?.level).toBe(40);
    // The driver's code: a socket code or SQLSTATE, or the adapter's kind when Prisma swallowed the socket's.
    expect(warning?.err.code).toMatch(/^(ECONNREFUSED|ECONNRESET|57P01|08\w{3}|DatabaseNotReachable|ConnectionClosed)$/);
    expect(warning?.err.message).toMatch(/\S/);
    expect(warning?.err.message).not.toContain("\n");
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1);
    const summary = await request(t.app).get("/summary").set(await bearer(viewer));
    expect(summary.status).toBe(503);
  });
  await proxy.stop();
});
