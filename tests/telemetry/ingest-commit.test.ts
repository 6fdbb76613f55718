// Group commit (telemetry/batcher.ts with the real commit of telemetry/ingest-commit.ts)
// on a real database: requests are coalesced, each is answered only after its
// own batch commits, and a failed batch fails exactly its own requests.
import request from "supertest";
import { createLogger } from "../../src/logger.js";
import type { Store } from "../../src/store/connection.js";
import type { IngestOutcome } from "../../src/store/ingest.js";
import type { IngestRequest } from "../../src/telemetry/batch-plan.js";
import { createIngestBatcher as createBatcherOfCommit } from "../../src/telemetry/ingest-commit.js";
import { bearer, buildTestApp, newViewer } from "../helpers/app.js";
import { countRows, createTestDatabase, storeFor, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase();
  store = storeFor(db);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

// The store receives the key already hashed and the body's fingerprint; here the key stands for its hash.
const one = (viewerId: string, count = 1, key: string | null = null): IngestRequest => ({
  viewerId,
  subject: `s-${viewerId}`,
  boundAt: null,
  key: key === null ? null : { hash: key, body: `count-${count}` },
  items: [{ event: "suggestion_shown", count }],
  rows: count,
});

/** A batcher over the real store, with the commit the service uses. */
const createIngestBatcher = (s: Store, opts: { rateLimit: number; maxWaitMs: number; maxRows: number }) =>
  createBatcherOfCommit(s, createLogger("silent"), opts);

async function rollupTotal(where = ""): Promise<number> {
  const { rows } = await db.sql.query(`SELECT coalesce(sum(count), 0)::int AS n FROM telemetry_daily ${where}`);
  return rows[0].n as number;
}

test("400 concurrent requests from 10 viewers: coalesced into far fewer statements, acknowledged = stored = rollup", async () => {
  const batcher = createIngestBatcher(store, { rateLimit: 0, maxWaitMs: 2, maxRows: 100 });
  const viewers = Array.from({ length: 10 }, () => newViewer("gc"));
  const sends = Array.from({ length: 400 }, (_, i) => batcher.submit(one(viewers[i % 10]!, 1 + (i % 5))));
  const outcomes = await Promise.all(sends);
  const acked = outcomes.reduce((n, o) => n + o.stored, 0);
  expect(outcomes.every((o) => o.outcome === "stored")).toBe(true);
  expect(acked).toBe(400 * 3);
  expect(batcher.batches).toBeLessThanOrEqual(400 / 10);
  const stored = await Promise.all(viewers.map((v) => countRows(db, { viewerId: v })));
  expect(stored.reduce((a, b) => a + b, 0)).toBe(acked);
  expect(await rollupTotal(`WHERE viewer_id LIKE 'gc-%'`)).toBe(acked);
});

test("a failing batch rejects exactly its own requests; the batches beside it commit", async () => {
  const batcher = createIngestBatcher(store, { rateLimit: 0, maxWaitMs: 20, maxRows: 5 });
  const good = newViewer("good");
  const tooLong = "x".repeat(65); // viewer_id is VARCHAR(64): this batch's statement fails
  const settle = (p: Promise<IngestOutcome>) => p.then((o) => o.stored, () => "rejected" as const);
  // Same tick: batch 1 = five good rows (sent at maxRows), batch 2 = three good
  // and one bad (sent by the timer), batch 3 = five good rows.
  const first = Array.from({ length: 5 }, () => settle(batcher.submit(one(good))));
  const failing = [...Array.from({ length: 3 }, () => settle(batcher.submit(one(good)))), settle(batcher.submit(one(tooLong)))];
  const second = [settle(batcher.submit(one(good, 4)))];
  const third = Array.from({ length: 5 }, () => settle(batcher.submit(one(good))));

  expect(await Promise.all(first)).toEqual([1, 1, 1, 1, 1]);
  expect(await Promise.all(failing)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
  expect(await Promise.all(second)).toEqual(["rejected"]); // it joined the failing batch (4 + 1 rows < 5)
  expect(await Promise.all(third)).toEqual([1, 1, 1, 1, 1]);
  expect(batcher.batches).toBe(3);
  expect(await countRows(db, { viewerId: good })).toBe(10);
  expect(await rollupTotal(`WHERE viewer_id = '${good}'`)).toBe(10);
});

test("batches running side by side with shared viewers, keys and a budget never deadlock", async () => {
  const batcher = createIngestBatcher(store, { rateLimit: 100_000, maxWaitMs: 1, maxRows: 20 });
  const viewers = Array.from({ length: 6 }, () => newViewer("lock"));
  // Each viewer's requests land in many batches, in different orders.
  const sends = Array.from({ length: 600 }, (_, i) =>
    batcher.submit(one(viewers[(i * 7) % 6]!, 1 + (i % 3), i % 2 === 0 ? `k-${i}` : null)),
  );
  const outcomes = await Promise.all(sends);
  expect(outcomes.every((o) => o.outcome === "stored")).toBe(true);
  expect(batcher.batches).toBeGreaterThan(20);
  const stored = await Promise.all(viewers.map((v) => countRows(db, { viewerId: v })));
  expect(stored.reduce((a, b) => a + b, 0)).toBe(outcomes.reduce((n, o) => n + o.stored, 0));
});

test("one Idempotency-Key repeated inside a batch stores once; the repeats are replays", async () => {
  const batcher = createIngestBatcher(store, { rateLimit: 0, maxWaitMs: 20, maxRows: 1_000 });
  const viewer = newViewer("dup");
  const outcomes = await Promise.all([1, 2, 3].map(() => batcher.submit(one(viewer, 3, "same-key"))));
  expect(batcher.batches).toBe(1);
  expect(outcomes.map((o) => o.outcome).sort()).toEqual(["replayed", "replayed", "stored"]);
  expect(outcomes.every((o) => o.stored === 3)).toBe(true);
  expect(await countRows(db, { viewerId: viewer })).toBe(3);
});

test("a repeated key over the budget is refused with its first request, and is not remembered", async () => {
  const batcher = createIngestBatcher(store, { rateLimit: 2, maxWaitMs: 20, maxRows: 1_000 });
  const viewer = newViewer("dup-limited");
  const outcomes = await Promise.all([1, 2].map(() => batcher.submit(one(viewer, 3, "over-key"))));
  expect(outcomes.map((o) => o.outcome)).toEqual(["rate_limited", "rate_limited"]);
  expect(await countRows(db, { viewerId: viewer })).toBe(0);
  const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM telemetry_idempotency WHERE viewer_id = $1", [viewer]);
  expect(rows[0].n).toBe(0);
});

test("through HTTP: 200 concurrent ingests are each answered after commit, and the rows match the answers", async () => {
  const t = buildTestApp(db.url, { TELEMETRY_RATE_LIMIT: "0" });
  try {
    const viewer = newViewer("http-gc");
    const auth = await bearer(viewer);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(t.app).post("/ingest").set(auth).send({ event: "suggestion_shown", count: 1 + (i % 5) }),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const acked = answers.reduce((n, a) => n + (a.body as { stored: number }).stored, 0);
    expect(acked).toBe(600);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(acked);
  } finally {
    await t.close();
  }
});
