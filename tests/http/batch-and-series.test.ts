import request from "supertest";
import { buildTestApp, bearer, newViewer, type TestApp, useTestApp, postIngest } from "../helpers/app.js";
import { countRows, seedRows, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
let t: TestApp;
const HOUR = 3600_000;

useTestApp((d, app) => ((db = d), (t = app)));

const item = (event = "suggestion_shown", count?: unknown) => (count === undefined ? { event } : { event, count });

const ingest = (viewer: string, body: unknown) => postIngest(t, viewer, body);

describe("POST /ingest batch form", () => {
  test("stores every item, each clamped like a single event, in one answer", async () => {
    const viewer = newViewer();
    const res = await ingest(viewer, {
      events: [item("suggestion_shown", 3), item("suggestion_accepted"), item("suggestion_skipped", 99), item("suggestion_undo", "0")],
    });
    expect(res.body).toEqual({ ok: true, stored: 3 + 1 + 50 + 1 });
    expect(await countRows(db, { viewerId: t.hash(viewer), event: "suggestion_skipped" })).toBe(50);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(55);
  });

  test("25 items are accepted", async () => {
    const viewer = newViewer();
    const res = await ingest(viewer, { events: Array.from({ length: 25 }, () => item("suggestion_shown", 2)) });
    expect(res.body).toEqual({ ok: true, stored: 50 });
  });

  test.each([
    ["26 items", { events: Array.from({ length: 26 }, () => item()) }, "invalid_body"],
    ["no items", { events: [] }, "invalid_body"],
    ["events not an array", { events: item() }, "invalid_body"],
    ["a field beside events", { events: [item()], source: "x" }, "invalid_body"],
    ["event and events together", { event: "suggestion_shown", events: [item()] }, "invalid_body"],
    ["an item that is not an object", { events: [item(), "suggestion_shown"] }, "invalid_body"],
    ["an item with an extra field", { events: [item(), { event: "suggestion_shown", note: "hi" }] }, "invalid_body"],
    ["an unknown event in the last item", { events: [item(), item(), item("nope")] }, "invalid_event"],
    ["a bad count in one item", { events: [item("suggestion_shown", 2), item("suggestion_shown", "x")] }, "invalid_count"],
  ])("refuses %s with 400 and stores nothing (all-or-nothing)", async (_name, body, code) => {
    const viewer = newViewer();
    const res = await ingest(viewer, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ ok: false, error: code });
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  });

  test("a batch that fails in the database stores none of its rows", async () => {
    // Force a failure of the single INSERT after validation: an event name the
    // column cannot hold, via a catalog that allows it (varchar(80) is the limit).
    const longName = `e${"x".repeat(79)}`;
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "tally-cat-")), "c.json");
    writeFileSync(
      file,
      JSON.stringify({
        events: [
          { name: "ok_event", description: "d", surface: "s", privacyClass: "usage-count" },
          { name: longName, description: "d", surface: "s", privacyClass: "usage-count" },
        ],
      }),
    );
    const custom = buildTestApp(db.url, { TELEMETRY_CATALOG: file });
    try {
      await db.sql.query("ALTER TABLE telemetry_event ADD CONSTRAINT short_events CHECK (length(event) < 50) NOT VALID");
      const viewer = newViewer();
      const res = await request(custom.app)
        .post("/ingest")
        .set(await bearer(viewer))
        .send({ events: [{ event: "ok_event", count: 5 }, { event: longName }] });
      // A constraint the data breaks is not an outage: 500 internal (logged), never 503.
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ ok: false, error: "internal" });
      expect(await countRows(db, { viewerId: custom.hash(viewer) })).toBe(0);
    } finally {
      await db.sql.query("ALTER TABLE telemetry_event DROP CONSTRAINT IF EXISTS short_events");
      await custom.close();
    }
  });
});

describe("GET /summary?series=day", () => {
  test("adds a zero-filled per-UTC-day series whose sums equal the counts", async () => {
    const viewer = newViewer();
    const { rows } = await db.sql.query<{ now: Date }>("SELECT now() AS now");
    const now = rows[0]!.now.getTime();
    await seedRows(db, t.hash(viewer), "suggestion_shown", new Date(now - 2 * 24 * HOUR), 4);
    await seedRows(db, t.hash(viewer), "suggestion_accepted", new Date(now - 60_000), 2);
    await seedRows(db, t.hash(viewer), "suggestion_shown", new Date(now - 9 * 24 * HOUR), 7); // outside 7 days

    const res = await request(t.app).get("/summary?days=7&series=day").set(await bearer(viewer));
    expect(res.status).toBe(200);
    const { days, counts } = res.body.series as { days: string[]; counts: Record<string, number[]> };
    expect(days).toHaveLength(8); // 7 x 24 h spans 8 UTC dates (partial first and last)
    expect(days[days.length - 1]).toBe(new Date(now).toISOString().slice(0, 10));
    expect(days[days.length - 3]).toBe(new Date(now - 2 * 24 * HOUR).toISOString().slice(0, 10));
    expect(Object.keys(counts)).toEqual(Object.keys(res.body.counts));
    for (const [event, perDay] of Object.entries(counts)) {
      expect(perDay).toHaveLength(days.length);
      expect(perDay.reduce((a, b) => a + b, 0)).toBe(res.body.counts[event]);
    }
    expect(counts.suggestion_shown![days.length - 3]).toBe(4);
    expect(counts.suggestion_accepted![days.length - 1]).toBe(2);
    expect(res.body.counts).toMatchObject({ suggestion_shown: 4, suggestion_accepted: 2, suggestion_undo: 0 });
  });

  test("without series=day the answer is the plain summary", async () => {
    const res = await request(t.app).get("/summary").set(await bearer(newViewer()));
    expect(res.body.series).toBeUndefined();
  });
});
