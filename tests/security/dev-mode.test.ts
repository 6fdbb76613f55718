// Development features never switch on by accident: the dev viewer header and
// cookie need an explicit TALLY_DEV_VIEWER=true (refused in production), a
// server with a DATABASE_URL and no NODE_ENV runs with production semantics,
// development listens on loopback unless told otherwise, and start-up says
// loudly when dev identities are accepted.
import { networkInterfaces } from "node:os";
import { loadConfig } from "../../src/config.js";
import { TEST_ID_SECRET, TEST_SESSION_SECRET, tokenFor } from "../helpers/app.js";
import { runCli } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { killAll, startTally, type Proc } from "../helpers/processes.js";


let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await killAll();
  await db.drop();
});

/** `tally serve` with exactly this environment (no NODE_ENV unless given). */
function serveWith(env: Record<string, string>): Promise<Proc> {
  return startTally({ NODE_ENV: "", ...env });
}

async function asDevViewer(p: Proc, viewer: string) {
  return fetch(`${p.url}/summary`, { headers: { "x-dev-viewer": viewer } });
}

test("NODE_ENV unset with a DATABASE_URL: production semantics, the dev header is refused, a real session works", async () => {
  const p = await serveWith({ DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET });
  expect((await asDevViewer(p, "victim")).status).toBe(401);
  const cookie = await fetch(`${p.url}/summary`, { headers: { cookie: "dev_viewer=victim" } });
  expect(cookie.status).toBe(401);
  const real = await fetch(`${p.url}/summary`, { headers: { authorization: `Bearer ${await tokenFor("someone")}` } });
  expect(real.status).toBe(200);
  expect(p.output()).toMatch(/"env":"production"/);
  await p.stop();
});

test("NODE_ENV unset with a DATABASE_URL but no secrets refuses to start, naming what is missing", () => {
  const r = runCli(["serve"], { NODE_ENV: "", DATABASE_URL: db.url });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/TELEMETRY_ID_SECRET/);
});

test("development without TALLY_DEV_VIEWER: the dev header is refused", async () => {
  const p = await serveWith({ NODE_ENV: "development", DATABASE_URL: db.url });
  expect((await asDevViewer(p, "victim")).status).toBe(401);
  expect(p.output()).not.toMatch(/DEVELOPMENT IDENTITIES/);
  await p.stop();
});

test("TALLY_DEV_VIEWER=true in development: accepted, and start-up warns loudly", async () => {
  const p = await serveWith({ NODE_ENV: "development", DATABASE_URL: db.url, TALLY_DEV_VIEWER: "true" });
  expect((await asDevViewer(p, "dev-person")).status).toBe(200);
  const warning = p.output().split("\n").find((l) => l.includes("DEVELOPMENT IDENTITIES"));
  expect(warning).toBeDefined();
  expect(JSON.parse(warning!).level).toBe(40);
  await p.stop();
});

test("TALLY_DEV_VIEWER=true in production refuses to start", () => {
  const r = runCli(["serve"], {
    NODE_ENV: "production",
    DATABASE_URL: db.url,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TALLY_DEV_VIEWER: "true",
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/TALLY_DEV_VIEWER/);
});

test("development listens on loopback only by default; production on every interface", async () => {
  expect(loadConfig({ NODE_ENV: "development" }).host).toBe("127.0.0.1");
  expect(loadConfig({}).host).toBe("127.0.0.1"); // no NODE_ENV, no DATABASE_URL: development
  expect(loadConfig({ NODE_ENV: "production", DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET }).host).toBe("0.0.0.0");
  const p = await serveWith({ NODE_ENV: "development", DATABASE_URL: db.url });
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal);
  if (external) {
    const reached = await fetch(`http://${external.address}:${p.port}/healthz`).then(() => true, () => false);
    expect(reached).toBe(false);
  }
  expect(p.output()).toMatch(/"host":"127\.0\.0\.1"/);
  await p.stop();
});

