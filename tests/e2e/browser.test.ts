// The whole path in real headless Chromium: button click -> emitter -> host
// app's proxy -> tally -> PostgreSQL -> dashboard. A recording hop between the
// proxy and tally shows exactly which headers reach the service.
import { screenshotPath } from "../helpers/screenshots.js";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { TEST_ID_SECRET, randomSecret } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, startHostApp, startTally, type Proc } from "../helpers/processes.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";

const SESSION_SECRET = randomSecret();
const viewerHash = createViewerHasher(TEST_ID_SECRET)("demo-user");
const SCREENSHOT = screenshotPath("dashboard.png"); // test-output/, or docs/ with npm run docs:images

let db: TestDatabase;
let tally: Proc;
let prodTally: Proc;
let host: Proc;
let recorder: Server;
let browser: Browser;
const reached: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

/** Forwards to tally and records what arrived. */
async function startRecorder(target: string): Promise<string> {
  const t = new URL(target);
  recorder = createServer((req, res) => {
    reached.push({ method: req.method!, url: req.url!, headers: req.headers });
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => recorder.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
}

async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const started = Date.now();

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET };
  // Assigned one by one so afterAll can stop whatever did start.
  const starting = [
    startTally({ ...env, NODE_ENV: "development", TALLY_DEV_VIEWER: "true" }).then((p) => (tally = p)),
    startTally({ ...env, NODE_ENV: "production" }).then((p) => (prodTally = p)),
    launchChromium().then((b) => (browser = b)),
  ];
  await Promise.all(starting.map((p) => p.catch((e: unknown) => e))).then((results) => {
    const failed = results.find((r) => r instanceof Error);
    if (failed) throw failed;
  });
  host = await startHostApp(await startRecorder(tally.url), { SESSION_SECRET });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([host?.stop(), tally?.stop(), prodTally?.stop()]);
  await killAll();
  recorder?.closeAllConnections();
  recorder?.close();
  await db?.drop();
  console.log(`e2e run time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test("clicks in the page become rows in PostgreSQL and numbers on the dashboard", async () => {
  const context = await browser.newContext({ userAgent: "Mozilla/5.0 E2E-BROWSER-UA" });
  const page = await context.newPage();
  await page.goto(host.url, { referer: "https://referrer.example/secret-page" });
  // The sign-in calls telemetry.reset(): counts are tracked once the emitter has the new session's binding.
  const bound = page.waitForResponse((r) => r.url().endsWith("/api/telemetry/binding") && r.status() === 200);
  await page.click("#login");
  await page.waitForSelector("#session:text-is('Signed in as demo-user.')");
  await bound;

  // Same-tick clicks are coalesced by the emitter; separate clicks are separate requests.
  for (let i = 0; i < 4; i++) await page.click("#show");
  await page.click("#accept");
  await page.click("#accept");
  await page.click("#skip");
  await page.evaluate(() => {
    const t = (window as unknown as { tallyTelemetry: { track(e: string, n?: number): void } }).tallyTelemetry;
    t.track("suggestion_edited", 2);
    t.track("suggestion_undo");
  });

  const rows = await waitFor(() => countRows(db, { viewerId: viewerHash }), (n) => n >= 10);
  expect(rows).toBe(10);
  expect(await countRows(db, { viewerId: viewerHash, event: "suggestion_shown" })).toBe(4);
  expect(await countRows(db, { viewerId: viewerHash, event: "suggestion_accepted" })).toBe(2);
  expect(await countRows(db, { viewerId: viewerHash, event: "suggestion_edited" })).toBe(2);
  const batches = reached.filter((r) => r.url === "/ingest");
  expect(batches).toHaveLength(8); // 7 clicks + one coalesced evaluate()

  // The dashboard, through the host app's proxy, with the same session.
  await page.goto(`${host.url}/api/telemetry/dashboard`);
  await page.waitForSelector("#content:not([hidden])");
  const count = (event: string) => page.textContent(`tr[data-event="${event}"] .count`);
  expect(await count("suggestion_shown")).toBe("4");
  expect(await count("suggestion_accepted")).toBe("2");
  expect(await count("embeddings_opt_in")).toBe("0");
  const rate = (name: string) => page.textContent(`tr[data-rate="${name}"] .value`);
  expect(await rate("accept_rate")).toBe("50.0 %");
  expect(await rate("skip_rate")).toBe("25.0 %");
  expect(await rate("undo_rate")).toBe("50.0 %");
  expect(await page.locator("#chart svg rect").count()).toBeGreaterThan(0);

  await page.click('button[data-days="30"]');
  await page.waitForSelector('body[data-days="30"]');
  expect(await page.getAttribute('button[data-days="30"]', "aria-pressed")).toBe("true");
  expect(await count("suggestion_shown")).toBe("4");
  await page.setViewportSize({ width: 1000, height: 720 });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // What reached the service: session, request id, and nothing that identifies the browser.
  expect(reached.length).toBeGreaterThan(8);
  for (const r of reached) {
    expect(r.headers["x-request-id"]).toBeTruthy();
    expect(r.headers["x-forwarded-for"]).toBeUndefined();
    expect(r.headers.forwarded).toBeUndefined();
    expect(r.headers.referer).toBeUndefined();
    expect(r.headers.origin).toBeUndefined();
    expect(r.headers["user-agent"]).toBe("tally-proxy");
    expect(JSON.stringify(r.headers)).not.toContain("E2E-BROWSER-UA");
    expect(JSON.stringify(r.headers)).not.toContain("referrer.example");
  }
  await context.close();
}, 60_000);

test("with no session the dashboard says so instead of failing", async () => {
  const page = await browser.newPage();
  await page.goto(`${host.url}/api/telemetry/dashboard`);
  await page.waitForSelector("#status:has-text('No session')");
  await page.close();
});

test("rates with a zero denominator show a dash, at the service's own /dashboard", async () => {
  const context = await browser.newContext();
  await context.addCookies([{ name: "dev_viewer", value: "fresh-viewer", url: tally.url }]);
  const page = await context.newPage();
  await page.goto(`${tally.url}/dashboard`);
  await page.waitForSelector("#content:not([hidden])");
  expect(await page.textContent('tr[data-rate="accept_rate"] .value')).toBe("\u2014");
  expect(await page.textContent('tr[data-event="suggestion_shown"] .count')).toBe("0");
  await context.close();
});

test("Global Privacy Control: the page sends nothing and nothing is stored", async () => {
  const before = await countRows(db);
  const context = await browser.newContext({ extraHTTPHeaders: { "Sec-GPC": "1" } });
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  const page = await context.newPage();
  await page.goto(host.url);
  await page.click("#login");
  await page.click("#accept");
  await page.click("#show");
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (window as unknown as { tallyTelemetry: { enabled: boolean } }).tallyTelemetry.enabled)).toBe(false);
  // even a request sent by hand with Sec-GPC is answered 204 by the proxy and not stored
  const status = await page.evaluate(() =>
    fetch("/api/telemetry", { method: "POST", headers: { "content-type": "application/json" }, body: '{"event":"suggestion_shown"}' }).then((r) => r.status),
  );
  expect(status).toBe(204);
  expect(await countRows(db)).toBe(before);
  await context.close();
});

test("in production the dashboard page and its assets are 404", async () => {
  const page = await browser.newPage();
  for (const path of ["/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css"]) {
    const res = await page.goto(`${prodTally.url}${path}`);
    expect(res?.status()).toBe(404);
  }
  expect(await page.textContent("body")).toContain("not_found");
  await page.close();
});
