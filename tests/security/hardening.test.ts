// What a second hostile review of the security promises found, each as a test
// that failed before its fix: erasure racing a batch in flight, erasure and the
// purge deadlocking, cookies decoded before being forwarded, a slow session
// source reported as a database outage, a migration lock waited on forever, a
// heavy viewer that could not be erased, development secrets on a public port,
// DNS rebinding, a viewer column erasure would miss, and a downgraded Origin.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import request from "supertest";
import { loadConfig } from "../../src/config.js";
import { deleteBoundaryRows } from "../../src/store/retention.js";
import { bearer, buildTestApp, newViewer, postIngest, TEST_ID_SECRET, TEST_SESSION_SECRET, type TestApp } from "../helpers/app.js";
import { runCliAsync } from "../helpers/cli.js";
import { countRows, createTestDatabase, seedRows, storeFor, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
const apps: TestApp[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await db.drop();
});
const app = (env: Record<string, string> = {}) => {
  const a = buildTestApp(db.url, env);
  apps.push(a);
  return a;
};

/** Rows keyed by `viewerId` in every table with a viewer column. */
async function leftovers(viewerId: string): Promise<Record<string, number>> {
  const { rows: tables } = await db.sql.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'viewer_id'
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace`,
  );
  const out: Record<string, number> = {};
  for (const { t } of tables) {
    const n = Number((await db.sql.query(`SELECT count(*) AS n FROM "${t}" WHERE viewer_id = $1`, [viewerId])).rows[0].n);
    if (n > 0) out[t] = n;
  }
  return out;
}

test("an erasure that meets an ingest batch of the same viewer in flight leaves nothing of the viewer behind", async () => {
  const t = app();
  const viewer = newViewer("race");
  // Hold every batch open half a second inside its transaction, after it wrote its key and rate window.
  await db.sql.query(`
    CREATE OR REPLACE FUNCTION test_slow_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$;
    CREATE TRIGGER test_slow_rollup BEFORE INSERT ON telemetry_daily FOR EACH ROW EXECUTE FUNCTION test_slow_rollup();`);
  try {
    const ingest = postIngest(t, viewer, { event: "suggestion_shown", count: 2 }, { "idempotency-key": "in-flight-1" });
    await new Promise((r) => setTimeout(r, 150));
    const erase = request(t.app).delete("/me").set(await bearer(viewer));
    const [stored, erased] = await Promise.all([ingest, erase]);
    expect(stored.status).toBe(200);
    expect(erased.status).toBe(200);
    expect(await leftovers(t.hash(viewer))).toEqual({});
  } finally {
    await db.sql.query("DROP TRIGGER test_slow_rollup ON telemetry_daily; DROP FUNCTION test_slow_rollup()");
  }
});

test("erasures and the purge's deletes of the same viewer's boundary-day rows, side by side, never deadlock", async () => {
  const t = app();
  const store = storeFor(db);
  const deadlocks = async () =>
    Number((await db.sql.query("SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0].n);
  const before = await deadlocks();
  try {
    const cutoff = new Date(Date.now() - 2 * 86_400_000);
    const failures: unknown[] = [];
    for (let round = 0; round < 12; round++) {
      const viewer = newViewer("purge-race");
      for (const event of ["suggestion_shown", "suggestion_accepted", "suggestion_skipped"]) {
        await seedRows(db, t.hash(viewer), event, new Date(cutoff.getTime() - 60_000), 150);
      }
      // Purge workers delete the boundary day's rows a few at a time while the viewer erases everything.
      const purging = Array.from({ length: 4 }, async () => {
        for (let n = 1; n > 0; ) n = await deleteBoundaryRows(store, cutoff, 3);
      });
      const erasing = new Promise((r) => setTimeout(r, round % 4)).then(() => t.telemetry.forget(viewer));
      for (const r of await Promise.allSettled([...purging, erasing])) if (r.status === "rejected") failures.push(r.reason);
      expect(await leftovers(t.hash(viewer))).toEqual({});
    }
    expect(failures.map((f) => String(f))).toEqual([]);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await deadlocks()) - before).toBe(0);
  } finally {
    await store.close();
  }
}, 60_000);

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

  test("a request still waiting on a slow introspection at its deadline is 503 auth_unavailable, not store_unavailable", async () => {
    const t = app({ AUTH_MODE: "introspect", AUTH_INTROSPECT_URL: url, REQUEST_TIMEOUT_MS: "300" });
    delayMs = 1_500;
    const res = await request(t.app).get("/summary").set("cookie", "session=slow-one");
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ ok: false, error: "auth_unavailable" });
    expect(t.logs.filter((l) => l.msg === "store unavailable")).toEqual([]);
  });
});

test("`tally migrate` waits a bounded time for another process's migration lock, then exits 1 with one line", async () => {
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query("SELECT pg_advisory_lock($1)", [0x74616c6c796d6967n.toString()]);
    const t0 = Date.now();
    const r = await runCliAsync(["migrate"], { DATABASE_URL: db.url, MIGRATION_LOCK_WAIT_MS: "1000" });
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/another process has been migrating/);
  } finally {
    await holder.end();
  }
}, 20_000);

test("a heavy viewer is erased completely, however short the request deadline and statement timeout", async () => {
  const t = app({ REQUEST_TIMEOUT_MS: "60" }); // requests answered at 60 ms, statements cancelled at 30 ms
  const viewer = newViewer("heavy");
  await seedRows(db, t.hash(viewer), "suggestion_shown", new Date(Date.now() - 3 * 86_400_000), 400_000);
  const res = await request(t.app).delete("/me").set(await bearer(viewer));
  expect(res.body).toEqual({ ok: true, deleted: 400_000 });
  expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
}, 60_000);

describe("development servers reachable from elsewhere", () => {
  test("HOST on a public interface with the public development session secret refuses to start", () => {
    expect(() => loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0" })).toThrow(/SESSION_SECRET/);
    expect(() => loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0", SESSION_SECRET: TEST_SESSION_SECRET, TALLY_DEV_VIEWER: "true" })).toThrow(/TALLY_DEV_VIEWER/);
    expect(loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0", SESSION_SECRET: TEST_SESSION_SECRET }).host).toBe("0.0.0.0");
  });

  test("on loopback it answers only loopback names: a DNS-rebinding page gets 403 cross_site", async () => {
    const t = app({ NODE_ENV: "development" });
    const viewer = newViewer("rebind");
    const rebound = await request(t.app).get("/summary").set("host", "evil.example:3000").set("x-dev-viewer", viewer);
    expect(rebound.status).toBe(403);
    expect(rebound.body).toEqual({ ok: false, error: "cross_site" });
    for (const host of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000"]) {
      expect((await request(t.app).get("/summary").set("host", host).set("x-dev-viewer", viewer)).status).toBe(200);
    }
  });
});

test("a viewer column under another name makes erasure fail loudly instead of missing it", async () => {
  const scratch = await createTestDatabase();
  const t = buildTestApp(scratch.url);
  try {
    await scratch.sql.query("CREATE TABLE later_feature (viewer_hash varchar(64), n int)");
    const viewer = newViewer();
    expect((await postIngest(t, viewer, { event: "suggestion_shown" })).status).toBe(200);
    const res = await request(t.app).delete("/me").set(await bearer(viewer));
    expect(res.status).toBe(500);
    expect(await countRows(scratch, { viewerId: t.hash(viewer) })).toBe(1); // nothing half-erased
  } finally {
    await t.close();
    await scratch.drop();
  }
});

test("`tally forget` refuses the development id secret against a configured database (it would erase nothing)", async () => {
  const r = await runCliAsync(["forget", "--viewer", "someone"], { DATABASE_URL: db.url, NODE_ENV: "development" });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/TELEMETRY_ID_SECRET/);
  const ok = await runCliAsync(["forget", "--viewer", "someone", "--json"], { DATABASE_URL: db.url, NODE_ENV: "development", TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  // It runs (and says that nothing matched: "someone" never tracked anything).
  expect(JSON.parse(ok.stdout)).toMatchObject({ dryRun: false, rows: 0, matched: false });
  expect(ok.stderr).toContain("nothing is stored for that viewer id");
});

test("an http: Origin on a request that came over https is a downgrade: 403 cross_site", async () => {
  const t = app();
  const viewer = newViewer();
  const downgraded = await postIngest(t, viewer, { event: "suggestion_shown" }, { host: "localhost", origin: "http://localhost", "x-forwarded-proto": "https" });
  expect(downgraded.status).toBe(403);
  const same = await postIngest(t, viewer, { event: "suggestion_shown" }, { host: "localhost", origin: "https://localhost", "x-forwarded-proto": "https" });
  expect(same.status).toBe(200);
});

test("classification: Node's and Prisma's codes are not read as SQLSTATEs", async () => {
  const { classifyStoreError } = await import("../../src/store/errors.js");
  expect(classifyStoreError(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "P1001", message: "Can't reach database server" }).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "P2024", message: "Timed out fetching a new connection" }).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "P2034", message: "Transaction failed due to a write conflict" }).kind).toBe("transient");
  expect(classifyStoreError({ code: "57P01", severity: "FATAL", message: "terminating connection" }).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "40P01", severity: "ERROR", message: "deadlock detected" }).kind).toBe("transient");
  expect(classifyStoreError({ code: "42883", severity: "ERROR", message: "function x() does not exist" }).kind).toBe("other");
  expect(classifyStoreError(new TypeError("x is undefined")).kind).toBe("other");
});
