// src/telemetry/batch-plan.ts: a batch's in-memory rules — what is sent to
// tally_ingest, and what each request is answered from what the sent ones got.
import type { IngestOutcome } from "../../../src/store/ingest.js";
import { planBatch, rowsOf, type IngestRequest } from "../../../src/telemetry/batch-plan.js";

const req = (viewerId: string, count: number, key: string | null = null, body = `count-${count}`): IngestRequest => ({
  viewerId,
  subject: `s-${viewerId}`,
  boundAt: viewerId === "bound" ? 1_700_000_000_000_000 : null,
  key: key === null ? null : { hash: key, body },
  items: [{ event: "suggestion_shown", count }],
  rows: count,
});

test("every request is sent once, in order, with its items pointing at it (1-based)", () => {
  const plan = planBatch([req("a", 2, "k1"), { ...req("b", 1), items: [{ event: "x", count: 1 }, { event: "y", count: 3 }], rows: 4 }, req("bound", 5)]);
  expect(plan.batch).toEqual({
    viewers: ["a", "b", "bound"],
    subjects: ["s-a", "s-b", "s-bound"],
    boundAt: [null, null, 1_700_000_000_000_000],
    keys: ["k1", null, null],
    bodies: ["count-2", null, null],
    wants: [2, 4, 5],
    itemRequest: [1, 2, 2, 3],
    itemEvent: ["suggestion_shown", "x", "y", "suggestion_shown"],
    itemCount: [2, 1, 3, 5],
  });
});

test("a (viewer, key) repeated inside one batch is sent once: the same body is replayed, another body is key_reused", () => {
  const requests = [req("a", 3, "k"), req("a", 3, "k"), req("a", 4, "k", "other"), req("b", 3, "k")];
  const plan = planBatch(requests);
  expect(plan.batch.viewers).toEqual(["a", "b"]); // b's key is b's own: sent
  const sent: IngestOutcome[] = [
    { outcome: "stored", stored: 3 },
    { outcome: "stored", stored: 3 },
  ];
  expect(plan.outcomes(sent)).toEqual([
    { outcome: "stored", stored: 3 },
    { outcome: "replayed", stored: 3 },
    { outcome: "key_reused", stored: 0 },
    { outcome: "stored", stored: 3 },
  ]);
});

test("a repeat shares its first request's refusal (rate_limited, erased, a replay of an earlier attempt)", () => {
  const plan = planBatch([req("a", 2, "k"), req("a", 2, "k")]);
  const refused: IngestOutcome = { outcome: "rate_limited", stored: 0, retryAfter: 7 };
  expect(plan.outcomes([refused])).toEqual([refused, refused]);
  expect(plan.outcomes([{ outcome: "erased", stored: 0 }])).toEqual([
    { outcome: "erased", stored: 0 },
    { outcome: "erased", stored: 0 },
  ]);
  expect(plan.outcomes([{ outcome: "replayed", stored: 2 }])).toEqual([
    { outcome: "replayed", stored: 2 },
    { outcome: "replayed", stored: 2 },
  ]);
});

test("requests without a key are never merged, however alike", () => {
  const plan = planBatch([req("a", 1), req("a", 1)]);
  expect(plan.batch.viewers).toEqual(["a", "a"]);
  expect(plan.outcomes([{ outcome: "stored", stored: 1 }, { outcome: "stored", stored: 1 }])).toHaveLength(2);
});

test("a sent request without an outcome is a bug, not a silent success", () => {
  const plan = planBatch([req("a", 1), req("b", 1)]);
  expect(() => plan.outcomes([{ outcome: "stored", stored: 1 }])).toThrow(/no row for request 2/);
});

test("rowsOf sums the items' counts", () => {
  expect(rowsOf([{ event: "a", count: 2 }, { event: "b", count: 3 }])).toBe(5);
  expect(rowsOf([])).toBe(0);
});
