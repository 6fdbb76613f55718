// A write whose Origin is the same host over http, on a request that came over
// https, is another (downgraded) site: refused as cross-site.
import { newViewer, postIngest, useTestApps } from "../helpers/app.js";

const { app } = useTestApps();

test("an http: Origin on a request that came over https is a downgrade: 403 cross_site", async () => {
  const t = app();
  const viewer = newViewer();
  const downgraded = await postIngest(t, viewer, { event: "suggestion_shown" }, { host: "localhost", origin: "http://localhost", "x-forwarded-proto": "https" });
  expect(downgraded.status).toBe(403);
  const same = await postIngest(t, viewer, { event: "suggestion_shown" }, { host: "localhost", origin: "https://localhost", "x-forwarded-proto": "https" });
  expect(same.status).toBe(200);
});
