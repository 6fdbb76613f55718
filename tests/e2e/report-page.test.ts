// The report page in real headless Chromium against a production tally
// process: it asks for the token, refuses a wrong one, then shows the figures
// (suppressed ones as <K), the rates and the per-day chart under its strict
// CSP with no console error. Its screenshot is the one in README.
import { screenshotPath } from "../helpers/screenshots.js";
import type { Browser } from "playwright-core";
import { TEST_ID_SECRET, randomSecret } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";
import { createTestDatabase, seedRows, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";

const TOKEN = randomSecret();
const SCREENSHOT = screenshotPath("report.png"); // test-output/, or docs/ with npm run docs:images
const DAY = 86_400_000;
const hash = createViewerHasher(TEST_ID_SECRET);

let db: TestDatabase;
let tally: Proc;
let browser: Browser;

beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.sql.query<{ now: Date }>("SELECT now() AS now");
  const today = Date.parse(rows[0]!.now.toISOString().slice(0, 10));
  // 14 days of traffic from 12 viewers; suggestion_undo from 3 of them only (suppressed at K = 5).
  for (let d = 0; d < 14; d++) {
    const at = new Date(Math.min(today - d * DAY + 12 * 3_600_000, rows[0]!.now.getTime() - 1_000));
    for (let v = 0; v < 12; v++) {
      const viewer = hash(`report-e2e-${v}`);
      await seedRows(db, viewer, "suggestion_shown", at, 3 + ((v + d) % 5));
      if ((v + d) % 3 !== 0) await seedRows(db, viewer, "suggestion_accepted", at, 1 + ((v * d) % 3));
      if (v % 4 === 0) await seedRows(db, viewer, "suggestion_skipped", at, 1);
      if (v < 3) await seedRows(db, viewer, "suggestion_undo", at, 1);
    }
  }
  // The closed days are aggregated by the report itself (the hourly job has not run); today is in progress.
  const env = { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: randomSecret() };
  [tally, browser] = await Promise.all([startTally({ ...env, NODE_ENV: "production", REPORT_TOKEN: TOKEN }), launchChromium()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await tally?.stop();
  await killAll();
  await db?.drop();
});

test("the report page asks for the token, then shows k-anonymous figures and the per-day chart", async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));

  await page.goto(`${tally.url}/report/page`);
  await page.waitForSelector("#login:not([hidden])");
  expect(await page.isVisible("#content")).toBe(false);
  await page.fill("#token", "not-the-token");
  await page.click("#login button");
  await page.waitForSelector("#status:text-is('That token was refused.')");

  await page.fill("#token", TOKEN);
  await page.click("#login button");
  await page.waitForSelector("#content:not([hidden])");
  expect(await page.isVisible("#login")).toBe(false);
  const cell = (event: string, col: string) => page.textContent(`tr[data-event="${event}"] .${col}`);
  // viewer-days: 12 viewers on each of the 13 closed days (today is in progress, not shown).
  expect(await cell("suggestion_shown", "viewers")).toBe(String(12 * 13));
  expect(Number(await cell("suggestion_shown", "count"))).toBeGreaterThan(0);
  expect(await cell("suggestion_undo", "count")).toBe("<5");
  expect(await cell("suggestion_undo", "viewers")).toBe("<5");
  expect(await cell("embeddings_opt_in", "count")).toBe("<5"); // nobody is suppressed like one person
  expect(await page.textContent('tr[data-rate="accept_rate"] .value')).toMatch(/^\d+\.\d %$/);
  expect(await page.textContent('tr[data-rate="undo_rate"] .value')).toBe("<5"); // its numerator's cells are all suppressed
  expect(await page.textContent("#range")).toMatch(/in progress, not shown/);
  expect(await page.locator("#chart svg rect").count()).toBeGreaterThan(14);

  // 7 days: a new request with the token kept for this tab.
  await page.click('button[data-days="7"]');
  await page.waitForSelector('body[data-days="7"]');
  await page.click('button[data-days="30"]');
  await page.waitForSelector('body[data-days="30"]');
  await page.setViewportSize({ width: 1000, height: 720 });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  // The wrong token's 401 is logged by Chromium as a failed resource; nothing else may be.
  expect(problems.filter((p) => !/401/.test(p))).toEqual([]);
});
