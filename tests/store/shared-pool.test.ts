// One pool per process: the hot path's prepared statements and the Prisma
// client of the cold paths draw from the same pg.Pool (POOL_SIZE connections in
// all), so the database sees one bounded set of connections, not two.
import { openStore, type Store } from "../../src/store/connection.js";
import { ingestBatch } from "../../src/store/ingest.js";
import { readSummaries } from "../../src/store/summary.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await store?.close();
});
afterAll(async () => {
  await db.drop();
});

const settled = <T>(p: Promise<T>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
};

test("Prisma queries wait for the pool the hot path uses: with the only connection taken, a Prisma query waits", async () => {
  store = openStore({ databaseUrl: db.url, poolSize: 1 });
  const prisma = await store.prisma();
  const held = await store.pool.connect();
  const count = prisma.jobClaim.count();
  const isDone = settled(count);
  await new Promise((r) => setTimeout(r, 300));
  expect(isDone()).toBe(false);
  expect(store.pool.waitingCount).toBe(1); // Prisma's query is queued on this very pool
  held.release();
  expect(await count).toBe(0);
});

test("the hot path waits for a connection Prisma holds (one pool, both ways)", async () => {
  store = openStore({ databaseUrl: db.url, poolSize: 1 });
  const prisma = await store.prisma();
  let release!: () => void;
  const inTransaction = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const hasEntered = new Promise<void>((r) => (entered = r));
  const tx = prisma.$transaction(async (t) => {
    await t.$queryRaw`SELECT 1`;
    entered();
    await inTransaction;
  });
  await hasEntered;
  const summary = readSummaries(store, [{ viewerId: "a".repeat(64), days: 7, perDay: false }]);
  const isDone = settled(summary);
  await new Promise((r) => setTimeout(r, 300));
  expect(isDone()).toBe(false);
  release();
  await tx;
  await expect(summary).resolves.toBeDefined();
});

test("under concurrent hot-path and Prisma work the database sees at most POOL_SIZE connections of the process", async () => {
  store = openStore({ databaseUrl: db.url, poolSize: 3 });
  const prisma = await store.prisma();
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    const viewer = `${i}`.padStart(64, "0");
    work.push(
      ingestBatch(
        store,
        { viewers: [viewer], subjects: [viewer], boundAt: [null], keys: [null], bodies: [null], wants: [1], itemRequest: [1], itemEvent: ["suggestion_shown"], itemCount: [1] },
        0,
      ),
    );
    work.push(prisma.dailyCount.count());
    work.push(prisma.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.02)`);
  }
  const peak = { n: 0 };
  const watcher = setInterval(() => {
    db.sql
      .query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tally'")
      .then(({ rows }) => (peak.n = Math.max(peak.n, Number(rows[0]!.n))))
      .catch(() => {});
  }, 5);
  try {
    await Promise.all(work);
  } finally {
    clearInterval(watcher);
  }
  expect(peak.n).toBeGreaterThan(0);
  expect(peak.n).toBeLessThanOrEqual(3);
  expect(store.pool.totalCount).toBeLessThanOrEqual(3);
  const { rows } = await db.sql.query<{ n: string }>("SELECT count(*) AS n FROM telemetry_event");
  expect(Number(rows[0]!.n)).toBe(30);
});
