// Privacy in logs: run every route with personal-looking data in every header
// and body, and fail if any of it reaches a log line.
import request from "supertest";
import { newViewer, tokenFor, type TestApp, useTestApp } from "../helpers/app.js";
let t: TestApp;

// One line per request (LOG_REQUESTS=all), so every route's line can be checked.
useTestApp((_db, app) => (t = app), { LOG_REQUESTS: "all" });

test("logs carry request ids, routes, status codes and timings, and nothing personal", async () => {
  const viewer = newViewer("person@example.com");
  const token = await tokenFor(viewer);
  const personal = {
    "user-agent": "Mozilla/5.0 (UA-SENTINEL)",
    "x-forwarded-for": "198.51.100.77",
    "x-real-ip": "198.51.100.78",
    referer: "https://app.example/REFERRER-SENTINEL",
    cookie: `session=${token}; tracking=COOKIE-SENTINEL`,
  };
  const body = { event: "suggestion_shown", count: 2 };
  await request(t.app).post("/ingest").set(personal).send(body);
  await request(t.app).post("/ingest").set(personal).set("authorization", `Bearer ${token}`).send({ event: "BODY-SENTINEL" });
  await request(t.app).post("/ingest").set(personal).send("{not json BODY-SENTINEL");
  await request(t.app).post("/ingest").set(personal).send({ event: "suggestion_shown", pad: "BODY-SENTINEL".repeat(500) });
  await request(t.app).get("/summary?days=3&q=QUERY-SENTINEL").set(personal);
  await request(t.app).get("/summary?days=QUERY-SENTINEL").set(personal);
  await request(t.app).delete("/me").set(personal);
  await request(t.app).get("/healthz").set(personal);
  await request(t.app).get("/readyz").set(personal);
  await request(t.app).get("/explain").set(personal);
  await request(t.app).get("/PATH-SENTINEL/person@example.com").set(personal);
  await request(t.app).post("/ingest").send(body); // 401

  const logs = t.rawLogs.join("\n");
  for (const secret of [
    "UA-SENTINEL",
    "198.51.100",
    "127.0.0.1",
    "::ffff",
    "REFERRER-SENTINEL",
    "COOKIE-SENTINEL",
    token,
    token.split(".")[1]!,
    "BODY-SENTINEL",
    "QUERY-SENTINEL",
    "PATH-SENTINEL",
    "person@example.com",
    viewer,
    t.hash(viewer),
  ]) {
    expect({ secret, found: logs.includes(secret) }).toEqual({ secret, found: false });
  }

  const requests = t.logs.filter((l) => l.msg === "request" || l.msg === "request failed");
  expect(requests).toHaveLength(12);
  for (const line of requests) {
    const fields = ["level", "method", "ms", "msg", "reqId", "route", "service", "status", "time"];
    // A refusal says what it was (the contract's code) and, for a 401, why — never the credential or a claim.
    if ((line.status as number) >= 400) fields.push("error");
    if (line.status === 401) fields.push("reason");
    expect(Object.keys(line).sort()).toEqual(fields.sort());
  }
  expect(requests.filter((l) => (l.status as number) >= 400).map((l) => [l.status, l.error, l.reason])).toEqual([
    [400, "invalid_event", undefined],
    [400, "invalid_body", undefined],
    [413, "payload_too_large", undefined],
    [400, "invalid_days", undefined],
    [404, "not_found", undefined],
    [401, "no_viewer", "no_credential"],
  ]);
  expect(requests.map((l) => [l.route, l.status])).toEqual([
    ["/ingest", 200],
    ["/ingest", 400],
    ["/ingest", 400],
    ["/ingest", 413],
    ["/summary", 200],
    ["/summary", 400],
    ["/me", 200],
    ["/healthz", 200],
    ["/readyz", 200],
    ["/explain", 200],
    ["unmatched", 404],
    ["/ingest", 401],
  ]);
});
