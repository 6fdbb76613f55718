// examples/next-app as a host app's developer runs it: the two packages packed
// into tarballs and installed from them (no workspace link), `next build`
// without TALLY_URL, `next start`, then real Chromium: sign in, clicks, counts
// through the proxy into PostgreSQL, the dashboard through the proxy.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { TEST_ID_SECRET, randomSecret } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, spawnNode, startTally, type Proc } from "../helpers/processes.js";
import { createViewerHasher } from "../../src/telemetry/identity.js";
import { freePort } from "../../src/store/embedded-postgres.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SESSION_SECRET = randomSecret();
const viewerHash = createViewerHasher(TEST_ID_SECRET)("next-demo-user");

let work: string;
let app: string;
let db: TestDatabase;
let tally: Proc;
let browser: Browser;
const nextServers: { url: string; output: () => string }[] = [];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 240_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `next start` on a free port; resolves once it answers. */
async function startNext(env: Record<string, string>): Promise<{ url: string; output: () => string }> {
  const port = await freePort();
  const { output } = spawnNode([path.join(app, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], {
    PATH: process.env.PATH ?? "",
    NEXT_TELEMETRY_DISABLED: "1",
    ...env,
  }, app);
  const url = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 30_000; Date.now() < until; ) {
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, output };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`next start did not answer within 30 s:\n${output()}`);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "tally-next-"));
  app = path.join(work, "next-app");
  cpSync(path.join(ROOT, "examples/next-app"), app, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|\.next|tally-packages)([/\\]|$)/.test(src),
  });
  // As the example's README says: pack the packages, install, build (no TALLY_URL at build time).
  mkdirSync(path.join(app, "tally-packages"));
  run("npm", ["pack", "-w", "@tally/client", "-w", "@tally/proxy", "--pack-destination", path.join(app, "tally-packages"), "--loglevel=error"], ROOT);
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], app);
  const { TALLY_URL: _unset, ...buildEnv } = process.env;
  run(process.execPath, [path.join(app, "node_modules/next/dist/bin/next"), "build"], app, { ...buildEnv, NEXT_TELEMETRY_DISABLED: "1" });

  db = await createTestDatabase();
  [tally, browser] = await Promise.all([
    startTally({ NODE_ENV: "development", DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET }),
    launchChromium(),
  ]);
  nextServers.push(await startNext({ TALLY_URL: tally.url, SESSION_SECRET }));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await tally?.stop();
  await killAll();
  await db?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the example installs only the two tarballs of tally, no workspace link", () => {
  const ls = JSON.parse(run("npm", ["ls", "@tally/client", "@tally/proxy", "--json"], app)) as {
    dependencies: Record<string, { resolved: string }>;
  };
  expect(ls.dependencies["@tally/client"]!.resolved).toMatch(/^file:.*tally-packages\/tally-client-0\.1\.0\.tgz$/);
  expect(ls.dependencies["@tally/proxy"]!.resolved).toMatch(/^file:.*tally-packages\/tally-proxy-0\.1\.0\.tgz$/);
});

test("clicks in a Next.js page reach PostgreSQL through the route handler, and the dashboard shows them", async () => {
  const server = nextServers[0]!;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  // The sign-in calls telemetry.reset(): counts are tracked once the emitter has the new session's binding.
  const bound = page.waitForResponse((r) => r.url().endsWith("/api/telemetry/binding") && r.status() === 200);
  await page.click("#login");
  await page.waitForSelector("#session:text-is('Signed in as next-demo-user.')");
  await bound;
  for (let i = 0; i < 4; i++) await page.click("#show");
  await page.click("#accept");
  await page.click("#accept");
  await page.click("#skip");

  for (const until = Date.now() + 20_000; Date.now() < until; ) {
    if ((await countRows(db, { viewerId: viewerHash })) >= 7) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  expect(await countRows(db, { viewerId: viewerHash })).toBe(7);
  expect(await countRows(db, { viewerId: viewerHash, event: "suggestion_shown" })).toBe(4);
  expect(await countRows(db, { viewerId: viewerHash, event: "suggestion_accepted" })).toBe(2);
  expect(await page.evaluate(() => {
    const t = (window as unknown as { tallyTelemetry: { pending: number; dropped: number } }).tallyTelemetry;
    return [t.pending, t.dropped];
  })).toEqual([0, 0]);

  await page.goto(`${server.url}/api/telemetry/dashboard`);
  await page.waitForSelector("#content:not([hidden])");
  expect(await page.textContent('tr[data-event="suggestion_shown"] .count')).toBe("4");
  expect(await page.textContent('tr[data-rate="accept_rate"] .value')).toBe("50.0 %");
  await context.close();
}, 60_000);

test("without TALLY_URL at run time the route answers 503 proxy_not_configured and logs it once", async () => {
  const unconfigured = await startNext({ SESSION_SECRET });
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${unconfigured.url}/api/telemetry`, { method: "POST", body: '{"event":"suggestion_shown"}' });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, error: "proxy_not_configured" });
  }
  expect(unconfigured.output().match(/proxy_not_configured/g)).toHaveLength(1);
  expect(unconfigured.output()).toContain("TALLY_URL");
});
