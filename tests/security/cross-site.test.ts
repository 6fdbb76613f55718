// Cross-site writes are refused: a POST or DELETE whose Sec-Fetch-Site is
// `cross-site`, or whose Origin is present and neither this host nor an allowed
// origin, gets 403 cross_site and changes nothing. Same-origin browsers, the
// proxy (which sends no Origin) and non-browser clients keep working.
import express from "express";
import request from "supertest";
import { createTelemetryProxy, expressTelemetryProxy } from "../../packages/proxy/src/index.js";
import { bearer, buildTestApp, newViewer, postIngest, type TestApp, useTestApp } from "../helpers/app.js";
import { countRows, type TestDatabase } from "../helpers/database.js";
import { useUpstream } from "../helpers/upstream.js";

let db: TestDatabase;
let t: TestApp;
useTestApp((d, a) => {
  db = d;
  t = a;
});

const crossSite = { "sec-fetch-site": "cross-site" };

describe("the service", () => {
  test("a cross-site POST is refused with 403 cross_site and stores nothing, even as text/plain (sendBeacon)", async () => {
    const viewer = newViewer();
    const json = await postIngest(t, viewer, { event: "suggestion_shown" }, crossSite);
    expect(json.status).toBe(403);
    expect(json.body).toEqual({ ok: false, error: "cross_site" });
    const beacon = await postIngest(t, viewer, JSON.stringify({ event: "suggestion_shown" }), { ...crossSite, "content-type": "text/plain" });
    expect(beacon.status).toBe(403);
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(0);
  });

  test.each(["https://evil.example", "null", "http://127.0.0.1.evil.example", "not an origin"])(
    "Origin %p (not this host, not allowed) is refused on POST and DELETE",
    async (origin) => {
      const viewer = newViewer();
      expect((await postIngest(t, viewer, { event: "suggestion_shown" })).status).toBe(200);
      const post = await postIngest(t, viewer, { event: "suggestion_shown" }, { origin });
      expect(post.status).toBe(403);
      const del = await request(t.app).delete("/me").set(await bearer(viewer)).set("origin", origin);
      expect(del.status).toBe(403);
      expect(del.body).toEqual({ ok: false, error: "cross_site" });
      expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(1); // nothing stored, nothing erased
    },
  );

  test("same-origin browser requests, requests without an Origin and reads keep working", async () => {
    const viewer = newViewer();
    const sameOrigin = await request(t.app)
      .post("/ingest")
      .set(await bearer(viewer))
      .set({ host: "localhost:3000", origin: "http://localhost:3000", "sec-fetch-site": "same-origin" })
      .send({ event: "suggestion_shown" });
    expect(sameOrigin.status).toBe(200);
    expect((await postIngest(t, viewer, { event: "suggestion_shown" })).status).toBe(200); // curl, the proxy
    const read = await request(t.app).get("/summary").set(await bearer(viewer)).set(crossSite);
    expect(read.status).toBe(200); // reads are not writes (and CORS keeps their answers from other sites)
    expect(await countRows(db, { viewerId: t.hash(viewer) })).toBe(2);
  });

  test("TALLY_ALLOWED_ORIGINS admits exactly the listed origins", async () => {
    const a = buildTestApp(db.url, { TALLY_ALLOWED_ORIGINS: "https://app.example, https://admin.example:8443" });
    try {
      const viewer = newViewer();
      expect((await postIngest(a, viewer, { event: "suggestion_shown" }, { origin: "https://app.example" })).status).toBe(200);
      expect((await postIngest(a, viewer, { event: "suggestion_shown" }, { origin: "https://admin.example:8443" })).status).toBe(200);
      for (const origin of ["https://app.example.evil.example", "http://app.example", "https://admin.example"]) {
        expect((await postIngest(a, viewer, { event: "suggestion_shown" }, { origin })).status).toBe(403);
      }
      // An explicitly allowed origin may be another site (a browser calling tally directly).
      expect((await postIngest(a, viewer, { event: "suggestion_shown" }, { origin: "https://app.example", ...crossSite })).status).toBe(200);
    } finally {
      await a.close();
    }
  });
});

describe("the proxy", () => {
  const upstream = useUpstream();
  const seen = upstream.seen;
  const serviceUrl = () => upstream.url;

  const post = (headers: Record<string, string>, url = "https://app.example/api/telemetry", method = "POST") =>
    createTelemetryProxy({ serviceUrl: serviceUrl() })(new Request(url, { method, headers, ...(method === "POST" ? { body: '{"event":"suggestion_shown"}' } : {}) }));

  test("Fetch handler: cross-site and foreign origins get 403 cross_site and are not forwarded", async () => {
    for (const headers of [crossSite, { origin: "https://evil.example" }, { origin: "null" }]) {
      const res = await post(headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ ok: false, error: "cross_site" });
      expect((await post(headers, "https://app.example/api/telemetry", "DELETE")).status).toBe(403);
    }
    expect(seen).toHaveLength(0);
  });

  test("Fetch handler: its own origin, no Origin, X-Forwarded-Host and allowedOrigins pass", async () => {
    expect((await post({ origin: "https://app.example", "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect((await post({})).status).toBe(200);
    expect((await post({ origin: "https://app.example", "x-forwarded-host": "app.example" }, "http://10.0.0.5:3000/api/telemetry")).status).toBe(200);
    const allowed = createTelemetryProxy({ serviceUrl: serviceUrl(), allowedOrigins: ["https://www.app.example"] });
    const res = await allowed(new Request("https://app.example/api/telemetry", { method: "POST", headers: { origin: "https://www.app.example" }, body: "{}" }));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(4);
    for (const h of seen) expect(h.headers.origin).toBeUndefined();
  });

  test("Express middleware compares the Origin with the request's Host", async () => {
    const app = express();
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: serviceUrl() }));
    const evil = await request(app).post("/api/telemetry").set("host", "app.example").set("origin", "https://evil.example").send("{}");
    expect(evil.status).toBe(403);
    const own = await request(app).post("/api/telemetry").set("host", "app.example").set("origin", "http://app.example").send("{}");
    expect(own.status).toBe(200);
    expect(seen).toHaveLength(1);
  });
});
