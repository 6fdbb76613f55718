import request from "supertest";
import { buildTestApp, type TestApp } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { TEST_ID_SECRET } from "../helpers/app.js";

let db: TestDatabase;
let dev: TestApp;
let prod: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  dev = buildTestApp(db.url, { NODE_ENV: "development" });
  prod = buildTestApp(db.url, { NODE_ENV: "production", TELEMETRY_ID_SECRET: TEST_ID_SECRET });
});
afterAll(async () => {
  await Promise.all([dev.close(), prod.close()]);
  await db.drop();
});

test("in development the page and its assets are served with a strict CSP and no external resources", async () => {
  const page = await request(dev.app).get("/dashboard");
  expect(page.status).toBe(200);
  expect(page.headers["content-type"]).toMatch(/text\/html/);
  expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'; script-src 'self'/);
  expect(page.text).not.toMatch(/https?:\/\//);
  expect(page.text).toContain('"accept_rate"'); // rates come from the catalog
  for (const [asset, type] of [["dashboard.js", /javascript/], ["chart.js", /javascript/], ["dashboard.css", /css/]] as const) {
    const res = await request(dev.app).get(`/dashboard/${asset}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(type);
    expect(res.text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  }
});

test("in production the page and its assets are 404 not_found", async () => {
  for (const path of ["/dashboard", "/dashboard/dashboard.js", "/dashboard/chart.js", "/dashboard/dashboard.css"]) {
    const res = await request(prod.app).get(path);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ ok: false, error: "not_found" });
  }
});
