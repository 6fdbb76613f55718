// A write whose Origin is the same host over http, on a request that came over
// https, is another (downgraded) site: refused as cross-site.
import { buildTestApp, newViewer, postIngest, type TestApp } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let db: TestDatabase;
const apps: TestApp[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await db.drop();
});
const app = (env: Record<string, string> = {}) => {
  const a = buildTestApp(db.url, env);
  apps.push(a);
  return a;
};

test("an http: Origin on a request that came over https is a downgrade: 403 cross_site", async () => {
  const t = app();
  const viewer = newViewer();
  const downgraded = await postIngest(t, viewer, { event: "suggestion_shown" }, { host: "localhost", origin: "http://localhost", "x-forwarded-proto": "https" });
  expect(downgraded.status).toBe(403);
  const same = await postIngest(t, viewer, { event: "suggestion_shown" }, { host: "localhost", origin: "https://localhost", "x-forwarded-proto": "https" });
  expect(same.status).toBe(200);
});
