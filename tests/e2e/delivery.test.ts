// The delivery guarantee in real Chromium, through the example host app's
// proxy to a real tally and PostgreSQL: every count a user clicks is stored
// exactly once, whatever happens between the click and the database.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { TEST_ID_SECRET, randomSecret } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, startHostApp, startTally, type Proc } from "../helpers/processes.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";

const SESSION_SECRET = randomSecret();
const viewerHash = createViewerHasher(TEST_ID_SECRET)("demo-user");

let db: TestDatabase;
let tally: Proc;
let host: Proc;
let browser: Browser;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  env = { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET, NODE_ENV: "production" };
  [tally, browser] = await Promise.all([startTally(env), launchChromium()]);
  host = await startHostApp(tally.url, { SESSION_SECRET });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([host?.stop(), tally?.stop()]);
  await killAll();
  await db?.drop();
});

const stored = () => countRows(db, { viewerId: viewerHash });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the page's outbox is empty and the rows reach `expected`, then a little longer to catch a late double. */
async function settle(pages: Page[], expected: number): Promise<number> {
  const until = Date.now() + 30_000;
  for (;;) {
    const pending = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { tallyTelemetry: { pending: number } }).tallyTelemetry.pending)));
    const rows = await stored();
    if ((rows >= expected && pending.every((n) => n === 0)) || Date.now() > until) break;
    await sleep(100);
  }
  await sleep(1_000);
  // Nothing was given up either (a 401 before sign-in would be dropped for good).
  for (const p of pages) expect(await p.evaluate(() => (window as unknown as { tallyTelemetry: { dropped: number } }).tallyTelemetry.dropped)).toBe(0);
  return stored();
}

async function signedIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(host.url);
  // The sign-in calls telemetry.reset(): counts are tracked once the emitter has the new session's binding.
  const bound = page.waitForResponse((r) => r.url().endsWith("/api/telemetry/binding") && r.status() === 200);
  await page.click("#login");
  await page.waitForSelector("#session:text-is('Signed in as demo-user.')");
  await bound;
  return page;
}

async function clicks(page: Page, n: number, selector = "#show"): Promise<void> {
  for (let i = 0; i < n; i++) await page.click(selector);
}

test("(a) offline: clicks made while the browser is offline are all stored once it is back", async () => {
  const before = await stored();
  const context = await browser.newContext();
  const page = await signedIn(context);
  await context.setOffline(true);
  await clicks(page, 4);
  await clicks(page, 2, "#accept");
  await sleep(300);
  expect(await page.evaluate(() => (window as unknown as { tallyTelemetry: { pending: number } }).tallyTelemetry.pending)).toBe(6);
  expect(await stored()).toBe(before);
  await context.setOffline(false);
  expect(await settle([page], before + 6)).toBe(before + 6);
  await context.close();
}, 60_000);

test("(b) the service is stopped while the user clicks and started again: every count stored once, none twice", async () => {
  const before = await stored();
  const context = await browser.newContext();
  const page = await signedIn(context);
  await clicks(page, 2);
  expect(await settle([page], before + 2)).toBe(before + 2);

  const port = tally.port;
  expect(await tally.stop()).toBe(0);
  await clicks(page, 5);
  await clicks(page, 1, "#skip");
  await sleep(1_500);
  expect(await stored()).toBe(before + 2);
  tally = await startTally({ ...env, PORT: String(port) });
  expect(await settle([page], before + 8)).toBe(before + 8);
  await context.close();
}, 60_000);

test("(c) clicks and an immediate reload: every count stored once", async () => {
  const before = await stored();
  const context = await browser.newContext();
  const page = await signedIn(context);
  const loaded = page.waitForEvent("load");
  await page.evaluate(() => {
    const t = (window as unknown as { tallyTelemetry: { track(e: string, n?: number): void } }).tallyTelemetry;
    t.track("suggestion_shown");
    t.track("suggestion_accepted", 2);
    location.reload();
  });
  await loaded;
  expect(await settle([page], before + 3)).toBe(before + 3);
  await context.close();
}, 60_000);

test("(c) clicks whose requests never got out before a reload are sent by the reloaded page, once", async () => {
  const before = await stored();
  const context = await browser.newContext();
  const page = await signedIn(context);
  // The network drops the ingest requests until the page has reloaded.
  let reloaded = false;
  await page.route("**/api/telemetry", (route) => (reloaded || route.request().method() !== "POST" ? route.continue() : route.abort()));
  await clicks(page, 3);
  await clicks(page, 1, "#undo");
  await page.reload();
  reloaded = true;
  expect(await settle([page], before + 4)).toBe(before + 4);
  await context.close();
}, 60_000);

test("(d) two tabs clicking at the same time: every count stored once", async () => {
  const before = await stored();
  const context = await browser.newContext();
  const [a, b] = [await signedIn(context), await context.newPage()];
  await b.goto(host.url);
  await Promise.all([clicks(a, 10), clicks(b, 10, "#accept")]);
  expect(await settle([a, b], before + 20)).toBe(before + 20);
  expect(await countRows(db, { viewerId: viewerHash, event: "suggestion_accepted" })).toBeGreaterThanOrEqual(10);
  await context.close();
}, 60_000);

test("opting out in one tab stops the other tabs of the app, and clears what they hold", async () => {
  const context = await browser.newContext();
  const [a, b] = [await signedIn(context), await context.newPage()];
  await b.goto(host.url);
  await context.setOffline(true);
  await clicks(b, 3); // waiting in tab b's outbox
  await a.evaluate(() => (window as unknown as { tallyTelemetry: { disable(): void } }).tallyTelemetry.disable());
  const state = () => b.evaluate(() => {
    const t = (window as unknown as { tallyTelemetry: { enabled: boolean; pending: number } }).tallyTelemetry;
    return [t.enabled, t.pending];
  });
  for (const until = Date.now() + 5_000; Date.now() < until && (await state())[0]; ) await sleep(50);
  expect(await state()).toEqual([false, 0]);
  expect(await b.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tally.")))).toEqual([]);
  await context.close();
}, 60_000);
