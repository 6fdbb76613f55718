// Privacy across people and time, in real Chromium, through the packages as
// a host app installs them (packed tarballs) and the proxy, against a real
// tally and PostgreSQL, with exact counts per viewer:
//   - two people on one browser profile: a count is stored under whoever was
//     signed in when it was tracked, or not at all — never under the next
//     person, never twice — whether or not the app calls reset();
//   - an erasure while counts are pending (this tab, another tab, a request
//     already on the wire): after DELETE /me answers, nothing tracked before it
//     is ever stored.
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { TEST_ID_SECRET, randomSecret } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { preparePackedHost, type PackedHost } from "../helpers/packed-host.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";

const SESSION_SECRET = randomSecret();
const hash = createViewerHasher(TEST_ID_SECRET);

let db: TestDatabase;
let tally: Proc;
let host: Proc;
let packed: PackedHost;
let browser: Browser;

beforeAll(async () => {
  packed = preparePackedHost();
  db = await createTestDatabase();
  [tally, browser] = await Promise.all([
    // LOG_REQUESTS=all: every answered ingest is a log line, so a test can tell which requests tally acknowledged.
    startTally({ DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET, NODE_ENV: "production", LOG_REQUESTS: "all" }),
    launchChromium(),
  ]);
  host = await packed.start(tally.url, SESSION_SECRET);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([host?.stop(), tally?.stop()]);
  await killAll();
  await db?.drop();
  packed?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows = (viewer: string) => countRows(db, { viewerId: hash(viewer) });
let n = 0;
const person = (name: string) => `${name}-${process.pid}-${++n}`;

type T = { track(e: string, c?: number): void; pending: number; dropped: number; lastError: string | null; forget(): Promise<unknown> };
const state = (p: Page) => p.evaluate(() => {
  const t = (window as unknown as { telemetry: T }).telemetry;
  return { pending: t.pending, dropped: t.dropped, lastError: t.lastError };
});
const track = (p: Page, event: string, count: number) =>
  p.evaluate(([e, c]) => (window as unknown as { telemetry: T }).telemetry.track(e as string, c as number), [event, count] as const);

/**
 * Signs `user` in (the host's toy sign-in) and loads the host's page in `page`
 * — a navigation, so the page before it hands its outbox over (pagehide), as
 * when a sign-in redirects — once its emitter has its binding.
 */
async function signIn(context: BrowserContext, page: Page, user: string): Promise<Page> {
  await context.request.post(`${host.url}/login?user=${encodeURIComponent(user)}`);
  const bound = page.waitForResponse((r) => r.url().endsWith("/api/telemetry/binding") && r.status() === 200);
  await page.goto(host.url);
  await bound;
  return page;
}

/** Signs out through the page (with or without the app calling reset()), then goes home: a navigation. */
async function signOut(page: Page, reset: boolean): Promise<void> {
  await page.evaluate((r) => (window as unknown as { signOut(reset: boolean): Promise<void> }).signOut(r), reset);
  await page.goto(host.url);
}

/** Waits until `check` holds (or 20 s), then a little longer to catch a late request. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (const end = Date.now() + 20_000; Date.now() < end && !(await check()); ) await sleep(100);
  await sleep(800);
}

/** Holds every ingest POST of the context until released; reads and the binding pass. */
async function holdPosts(context: BrowserContext): Promise<{ held: Route[]; release(): Promise<void> }> {
  const held: Route[] = [];
  let holding = true;
  await context.route("**/api/telemetry", (route) => {
    if (holding && route.request().method() === "POST") held.push(route);
    else void route.continue();
  });
  return {
    held,
    async release() {
      holding = false;
      for (const r of held.splice(0)) await r.continue().catch(() => {});
    },
  };
}

/** How many POST /ingest tally has answered with `status` so far (its request log: one line per request). */
const ingestsAnswered = (status: RegExp, since = 0) =>
  tally.output().slice(since).split("\n").filter((l) => l.includes('"route":"/ingest"') && status.test(l)).length;
const ingestsStored = () => ingestsAnswered(/"status":200\b/);
/** Refused without storing: another viewer's session (409) or none (401). */
const ingestsRefused = (since = 0) => ingestsAnswered(/"status":(409|401)\b/, since);

const storedKeys = (p: Page) => p.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tally.outbox")));

test("Alice tracks 6 and signs out at once, Bob signs in on the same browser: his page's copy is refused (409), hers is stored once, under her", async () => {
  const [alice, bob] = [person("alice"), person("bob")];
  const storedBefore = ingestsStored();
  const context = await browser.newContext();
  const net = await holdPosts(context); // Alice's request is still on its way when she signs out
  const tab = await signIn(context, await context.newPage(), alice);
  await track(tab, "suggestion_shown", 6);
  await until(async () => net.held.length > 0);
  await signOut(tab, false); // an app that never calls reset(): the signed-out page adopts her outbox…
  await signIn(context, tab, bob); // …and hands it to Bob's page, which sends it with Bob's cookie
  await until(async () => net.held.length >= 3);
  // Everything arrives now: Alice's own request (her cookie; Chromium may have cancelled it with her page),
  // the signed-out page's (no cookie), Bob's copy (his cookie, her binding).
  await net.release();
  await until(async () => (await state(tab)).pending === 0);
  expect(await rows(bob)).toBe(0);
  // Under her, or not at all: her 6 are stored exactly when her own request reached tally (Chromium may
  // cancel it with her page) — the one ingest tally acknowledged; Bob's copy (409) and the
  // signed-out page's (401) were refused.
  // Rows in the database come before their log line reaches this process: wait for the line when they are there.
  const stored = await rows(alice);
  await until(async () => stored === 0 || ingestsStored() > storedBefore);
  const acknowledged = ingestsStored() - storedBefore;
  expect(acknowledged).toBeLessThanOrEqual(1);
  expect(await rows(alice)).toBe(6 * acknowledged);
  expect(await state(tab)).toEqual({ pending: 0, dropped: 1, lastError: "session_mismatch" }); // one track() call given up

  // Bob's own counts are his.
  await track(tab, "suggestion_accepted", 2);
  await until(async () => (await rows(bob)) === 2);
  expect([await rows(alice), await rows(bob)]).toEqual([6 * acknowledged, 2]);
  expect(ingestsStored()).toBeGreaterThan(storedBefore + acknowledged); // Bob's is in the log: the count above reads real lines
  await context.close();
}, 90_000);

test("the same with Alice offline; and with reset() on sign-out her pending counts leave storage at once", async () => {
  const [alice, bob, carol] = [person("alice"), person("bob"), person("carol")];
  const context = await browser.newContext();
  const logFrom = tally.output().length; // refusals are counted in what tally logs from here on
  const tab = await signIn(context, await context.newPage(), alice);
  await context.setOffline(true);
  await track(tab, "suggestion_shown", 4);
  await until(async () => (await state(tab)).pending === 1); // one track() call waiting
  expect(await storedKeys(tab)).toHaveLength(1);
  // She signs out before her browser is back online (its requests still fail until Bob has signed in).
  await context.route("**/api/telemetry", (route) => (route.request().method() === "POST" ? route.abort() : route.continue()));
  await context.setOffline(false);
  await signOut(tab, false);
  await context.unroute("**/api/telemetry");
  await signIn(context, tab, bob);
  await until(async () => (await state(tab)).pending === 0);
  expect([await rows(alice), await rows(bob)]).toEqual([0, 0]);
  // Her count was sent, never with her session, and refused: under Bob's cookie (409 session_mismatch) —
  // by Bob's page, or by the signed-out page's hand-over as it unloads (whose answer Chromium may not
  // report: on a busy machine it did not, so tally's own request log is the witness) — or with no session
  // at all (401 no_viewer). Either refusal is final: nothing is pending, nothing stored.
  await until(async () => ingestsRefused(logFrom) > 0);
  expect(ingestsRefused(logFrom)).toBeGreaterThanOrEqual(1);

  // An app that calls reset() on sign-out: Bob's pending counts are gone from storage before Carol arrives.
  await context.setOffline(true);
  await track(tab, "suggestion_edited", 3);
  await until(async () => (await state(tab)).pending === 1);
  await context.route("**/api/telemetry", (route) => (route.request().method() === "POST" ? route.abort() : route.continue()));
  await context.setOffline(false);
  await tab.evaluate(() => (window as unknown as { signOut(reset: boolean): Promise<void> }).signOut(true));
  expect(await tab.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tally.")))).toEqual([]);
  expect((await state(tab)).pending).toBe(0);
  await context.unroute("**/api/telemetry");
  await signIn(context, tab, carol);
  await track(tab, "suggestion_skipped", 3);
  await until(async () => (await rows(carol)) === 3);
  expect([await rows(bob), await rows(carol)]).toEqual([0, 3]);
  expect((await state(tab)).dropped).toBe(0);
  await context.close();
}, 90_000);

test("erasing while counts are pending — in this tab, in another tab, on the wire — stores none of them, ever", async () => {
  const viewer = person("erase");
  const context = await browser.newContext();
  const tab = await signIn(context, await context.newPage(), viewer);
  await track(tab, "suggestion_shown", 3);
  await until(async () => (await rows(viewer)) === 3);

  const net = await holdPosts(context);
  const other = await context.newPage();
  const bound = other.waitForResponse((r) => r.url().endsWith("/api/telemetry/binding") && r.status() === 200);
  await other.goto(host.url);
  await bound;
  await track(tab, "suggestion_accepted", 2); // on the wire, held by the network
  await track(other, "suggestion_skipped", 4); // another tab's, held too
  await until(async () => net.held.length >= 2);

  const result = await tab.evaluate(() => (window as unknown as { telemetry: T }).telemetry.forget());
  expect(result).toEqual({ ok: true, deleted: 3 });
  expect(await rows(viewer)).toBe(0);
  expect(await storedKeys(other)).toEqual([]);
  // The requests on the wire arrive now, after the erasure answered (a late keepalive request).
  await net.release();
  await until(async () => (await state(tab)).pending === 0 && (await state(other)).pending === 0);
  expect(await rows(viewer)).toBe(0);

  // What the viewer tracks after the erasure is stored, once.
  await track(tab, "suggestion_undo", 1);
  await until(async () => (await rows(viewer)) === 1);
  expect(await rows(viewer)).toBe(1);
  await context.close();
}, 90_000);

test("another tab tracking while the erasure runs (and a tab opened meanwhile): none of it is stored after DELETE /me answers", async () => {
  const viewer = person("erase-tabs");
  const context = await browser.newContext();
  const tab = await signIn(context, await context.newPage(), viewer);
  const other = await context.newPage();
  const bound = other.waitForResponse((r) => r.url().endsWith("/api/telemetry/binding") && r.status() === 200);
  await other.goto(host.url);
  await bound;
  // The erasure takes a while (a heavy viewer): its DELETE is held on the way for a second.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  await context.route("**/api/telemetry", async (route) => {
    if (route.request().method() === "DELETE") await held;
    await route.continue();
  });
  const erasing = tab.evaluate(() => (window as unknown as { telemetry: T }).telemetry.forget());
  await sleep(300);
  await track(other, "suggestion_accepted", 4); // tracked before the erasure answered
  const opened = await context.newPage();
  await opened.goto(host.url);
  await opened.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  await track(opened, "suggestion_edited", 2); // a tab opened during the erasure
  await sleep(300);
  release();
  expect(await erasing).toEqual({ ok: true, deleted: 0 });
  await until(async () => (await state(other)).pending === 0 && (await state(opened)).pending === 0);
  expect(await rows(viewer)).toBe(0);
  expect((await state(other)).lastError).toBe("erased");

  // Tracked after the erasure answered: stored.
  await track(other, "suggestion_shown", 1);
  await until(async () => (await rows(viewer)) === 1);
  expect(await rows(viewer)).toBe(1);
  await context.close();
}, 90_000);
