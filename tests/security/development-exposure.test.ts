// Development conveniences never reach anyone else: a development server on a
// public interface with the public secrets refuses to start, one on loopback
// answers only loopback names (no DNS rebinding), and `tally forget` refuses
// the development id secret against a real database (it would erase nothing).
import request from "supertest";
import {  loadConfig } from "../../src/config.js";
import { newViewer, TEST_ID_SECRET, TEST_SESSION_SECRET, useTestApps } from "../helpers/app.js";
import { runCliAsync } from "../helpers/cli.js";

const { db, app } = useTestApps();

describe("development servers reachable from elsewhere", () => {
  test("HOST on a public interface with the public development session secret refuses to start", () => {
    expect(() => loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0" })).toThrow(/SESSION_SECRET/);
    expect(() => loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0", SESSION_SECRET: TEST_SESSION_SECRET, TALLY_DEV_VIEWER: "true" })).toThrow(/TALLY_DEV_VIEWER/);
    expect(loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0", SESSION_SECRET: TEST_SESSION_SECRET }).host).toBe("0.0.0.0");
  });

  test("on loopback it answers only loopback names: a DNS-rebinding page gets 403 cross_site", async () => {
    const t = app({ NODE_ENV: "development" });
    const viewer = newViewer("rebind");
    const rebound = await request(t.app).get("/summary").set("host", "evil.example:3000").set("x-dev-viewer", viewer);
    expect(rebound.status).toBe(403);
    expect(rebound.body).toEqual({ ok: false, error: "cross_site" });
    for (const host of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000"]) {
      expect((await request(t.app).get("/summary").set("host", host).set("x-dev-viewer", viewer)).status).toBe(200);
    }
  });
});

test("`tally forget` refuses the development id secret against a configured database (it would erase nothing)", async () => {
  const r = await runCliAsync(["forget", "--viewer", "someone"], { DATABASE_URL: db().url, NODE_ENV: "development" });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/TELEMETRY_ID_SECRET/);
  const ok = await runCliAsync(["forget", "--viewer", "someone", "--json"], { DATABASE_URL: db().url, NODE_ENV: "development", TELEMETRY_ID_SECRET: TEST_ID_SECRET });
  // It runs (and says that nothing matched: "someone" never tracked anything).
  expect(JSON.parse(ok.stdout)).toMatchObject({ dryRun: false, rows: 0, matched: false });
  expect(ok.stderr).toContain("nothing is stored for that viewer id");
});
