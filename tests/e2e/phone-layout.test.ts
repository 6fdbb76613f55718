// The dev dashboard and the report page on a phone (390 × 844, real headless
// Chromium): no horizontal scroll, chart labels at least 11 CSS px, each button
// group on one line, and axis ticks on round numbers (1, 2 or 5 × 10ⁿ steps).
// Screenshots go to the git-ignored test-output/ (phone-dashboard.png, phone-report.png).
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createViewerHasher } from "../../src/telemetry/identity.js";
import { TEST_ID_SECRET, randomSecret } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";
import { createTestDatabase, seedRows, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";
import { screenshotPath } from "../helpers/screenshots.js";

const TOKEN = randomSecret();
const DAY = 86_400_000;
const hash = createViewerHasher(TEST_ID_SECRET);
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

let db: TestDatabase;
let tally: Proc;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.sql.query<{ now: Date }>("SELECT now() AS now");
  const now = rows[0]!.now.getTime();
  const today = Date.parse(rows[0]!.now.toISOString().slice(0, 10));
  // Awkward totals (the old axis read 0/81/161): the dashboard's viewer and 8 others, 30 days.
  for (let d = 0; d < 30; d++) {
    const at = new Date(Math.min(today - d * DAY + 12 * 3_600_000, now - 1_000));
    await seedRows(db, hash("phone-viewer"), "suggestion_shown", at, 97 + ((d * 37) % 64));
    await seedRows(db, hash("phone-viewer"), "suggestion_accepted", at, 13 + (d % 7));
    for (let v = 0; v < 8; v++) await seedRows(db, hash(`phone-other-${v}`), "suggestion_shown", at, 3 + ((v + d) % 5));
  }
  const env = { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: randomSecret() };
  [tally, browser] = await Promise.all([startTally({ ...env, NODE_ENV: "development", TALLY_DEV_VIEWER: "true", REPORT_TOKEN: TOKEN }), launchChromium()]);
  context = await browser.newContext(PHONE);
  await context.addCookies([{ name: "dev_viewer", value: "phone-viewer", url: tally.url }]);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await tally?.stop();
  await killAll();
  await db?.drop();
});

interface Layout {
  scrollWidth: number;
  innerWidth: number;
  /** Rendered size (CSS px) of every chart label. */
  labelSizes: number[];
  /** Chart labels drawn (partly) outside the chart. */
  clipped: string[];
  /** Day labels that overlap their neighbour. */
  overlapping: string[];
  yTicks: number[];
  /** Per button group: the distinct tops of its buttons, and whether any button's text wraps. */
  groups: { tops: number[]; wrapped: boolean }[];
}

async function layout(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const svg = document.querySelector("#chart svg") as SVGSVGElement;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const texts = Array.from(svg.querySelectorAll("text"));
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      labelSizes: texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale),
      clipped: texts
        .filter((t) => {
          const [box, frame] = [t.getBoundingClientRect(), svg.getBoundingClientRect()];
          return box.left < frame.left - 0.5 || box.right > frame.right + 0.5 || box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5;
        })
        .map((t) => t.textContent ?? ""),
      overlapping: Array.from(svg.querySelectorAll("text.x-tick"))
        .map((t) => ({ text: t.textContent ?? "", box: t.getBoundingClientRect() }))
        .sort((a, b) => a.box.left - b.box.left)
        .filter((t, i, all) => i > 0 && all[i - 1]!.box.right > t.box.left)
        .map((t) => t.text),
      yTicks: Array.from(svg.querySelectorAll("text.y-tick")).map((t) => Number(t.textContent)),
      groups: Array.from(document.querySelectorAll(".toggle")).map((g) => {
        const buttons = Array.from(g.querySelectorAll("button"));
        return {
          tops: [...new Set(buttons.map((b) => Math.round(b.getBoundingClientRect().top)))],
          wrapped: buttons.some((b) => {
            const range = document.createRange();
            range.selectNodeContents(b);
            return range.getClientRects().length > 1;
          }),
        };
      }),
    };
  });
}

/** Ticks from 0 in equal steps of 1, 2 or 5 × 10ⁿ. */
function expectRoundTicks(ticks: number[]): void {
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  expect(ticks[0]).toBe(0);
  const step = ticks[1]! - ticks[0]!;
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  expect([1, 2, 5]).toContain(Math.round(mantissa * 1e9) / 1e9);
  ticks.forEach((t, i) => expect(t).toBe(i * step));
}

function expectPhoneLayout(l: Layout): void {
  expect(l.innerWidth).toBe(390);
  expect(l.scrollWidth).toBeLessThanOrEqual(l.innerWidth); // no horizontal scroll
  expect(l.labelSizes.length).toBeGreaterThan(3);
  expect(Math.min(...l.labelSizes)).toBeGreaterThanOrEqual(11);
  expect(l.clipped).toEqual([]);
  expect(l.overlapping).toEqual([]);
  for (const g of l.groups) expect(g).toEqual({ tops: [expect.any(Number)], wrapped: false });
  expectRoundTicks(l.yTicks);
}

test("the dev dashboard on a 390 px phone: no horizontal scroll, readable labels, one-line buttons, round ticks", async () => {
  const page = await context.newPage();
  await page.goto(`${tally.url}/dashboard`);
  await page.waitForSelector("#content:not([hidden]) #chart svg");
  await page.click('button[data-days="30"]');
  await page.waitForFunction(() => document.querySelectorAll("#chart text.x-tick").length > 0 && document.querySelector('button[data-days="30"]')!.getAttribute("aria-pressed") === "true");
  await page.waitForTimeout(200);
  const l = await layout(page);
  expectPhoneLayout(l);
  expect(l.yTicks.at(-1)).toBeGreaterThanOrEqual(161); // the top tick covers the tallest day
  await page.screenshot({ path: screenshotPath("phone-dashboard.png"), fullPage: true });
  await page.close();
});

test("the report page on a 390 px phone: the token form, then the report, all within the width", async () => {
  const page = await context.newPage();
  await page.goto(`${tally.url}/report/page`);
  await page.waitForSelector("#login:not([hidden])");
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.fill("#token", TOKEN);
  await page.click("#login button");
  await page.waitForSelector("#content:not([hidden]) #chart svg");
  expectPhoneLayout(await layout(page));
  await page.screenshot({ path: screenshotPath("phone-report.png"), fullPage: true });
  // Turning the phone: the chart is redrawn for the new width, still within it.
  await page.setViewportSize({ width: 844, height: 390 });
  await page.waitForTimeout(300);
  const wide = await page.evaluate(() => ({ svg: document.querySelector("#chart svg")!.getBoundingClientRect().width, scroll: document.documentElement.scrollWidth }));
  expect(wide.svg).toBeGreaterThan(600);
  expect(wide.scroll).toBeLessThanOrEqual(844);
  await page.close();
});
