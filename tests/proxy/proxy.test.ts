import express from "express";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { createTelemetryProxy, expressTelemetryProxy } from "../../packages/proxy/src/index.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let upstream: Server;
let serviceUrl: string;
let seen: Seen[] = [];
let delayMs = 0;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        if (req.url === "/ingest") res.setHeader("retry-after", "7");
        res.setHeader("set-cookie", "tracker=1");
        res.end(JSON.stringify({ ok: true, path: req.url }));
      }, delayMs).unref();
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  serviceUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => {
  upstream.closeAllConnections();
  upstream.close();
});
beforeEach(() => {
  seen = [];
  delayMs = 0;
});

const browserHeaders = {
  cookie: "session=tok123; _ga=GA1.2.3; theme=dark",
  authorization: "Bearer abc",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156",
  "x-forwarded-for": "203.0.113.5",
  "x-real-ip": "203.0.113.5",
  forwarded: "for=203.0.113.5",
  referer: "https://app.example/private/page",
  origin: "https://app.example",
  "accept-language": "de-DE",
  "idempotency-key": "key-1",
  "content-type": "application/json",
};

describe("Fetch handler", () => {
  const proxy = () => createTelemetryProxy({ serviceUrl });

  test("POST goes to /ingest with the session cookie, Authorization, Idempotency-Key and a request id, nothing else", async () => {
    const res = await proxy()(
      new Request("https://app.example/api/telemetry", {
        method: "POST",
        headers: browserHeaders,
        body: '{"event":"suggestion_shown"}',
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, path: "/ingest" });
    expect(seen).toHaveLength(1);
    const h = seen[0]!.headers;
    expect(seen[0]!.body).toBe('{"event":"suggestion_shown"}');
    expect(h.cookie).toBe("session=tok123");
    expect(h.authorization).toBe("Bearer abc");
    expect(h["idempotency-key"]).toBe("key-1");
    expect(h["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(h["user-agent"]).toBe("tally-proxy");
    // What the proxy sets, plus what the HTTP client itself adds for transport.
    const allowed = ["accept", "authorization", "content-type", "cookie", "idempotency-key", "user-agent", "x-request-id"];
    // (undici sends `accept-language: *` of its own; the browser's value never crosses.)
    const transport = ["host", "connection", "content-length", "accept-encoding", "accept-language", "sec-fetch-mode", "transfer-encoding"];
    expect(Object.keys(h).filter((k) => !allowed.includes(k) && !transport.includes(k))).toEqual([]);
    for (const banned of ["x-forwarded-for", "x-real-ip", "forwarded", "referer", "origin"]) {
      expect(h[banned]).toBeUndefined();
    }
    expect(h["accept-language"]).not.toBe("de-DE");
    // the answer carries the request id back, and never the upstream's cookies
    expect(res.headers.get("x-request-id")).toBe(h["x-request-id"]);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("retry-after")).toBe("7");
  });

  test("GET /binding goes to /binding; a session binding is forwarded as is, a malformed one refused (409) and not forwarded", async () => {
    const binding = "b1.hooq0000.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA";
    const p = proxy();
    const res = await p(new Request("https://a/api/telemetry/binding"));
    expect(res.status).toBe(200);
    expect(seen[0]!.url).toBe("/binding");
    await p(new Request("https://a/api/telemetry", { method: "POST", headers: { "tally-binding": binding }, body: "{}" }));
    expect(seen[1]!.headers["tally-binding"]).toBe(binding);
    const bad = await p(new Request("https://a/api/telemetry", { method: "POST", headers: { "tally-binding": "alice" }, body: "{}" }));
    expect([bad.status, await bad.json()]).toEqual([409, { ok: false, error: "session_mismatch" }]);
    expect(seen).toHaveLength(2);
    expect((await p(new Request("https://a/api/telemetry/binding", { method: "POST", body: "{}" }))).status).toBe(405);
  });

  test("a given x-request-id (a UUID) is echoed to the client, never forwarded: the service logs the proxy's own", async () => {
    const id = "0b9d3a52-6f1e-4c2a-9d8b-7e6f5a4b3c2d";
    const res = await proxy()(new Request("https://a/api/telemetry", { method: "POST", headers: { "x-request-id": id }, body: "{}" }));
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(seen[0]!.headers["x-request-id"]).not.toBe(id);
  });

  test("GET ?days=N goes to /summary with only days and series; DELETE goes to /me", async () => {
    await proxy()(new Request("https://a/api/telemetry?days=30&series=day&email=x@y.z", { headers: browserHeaders }));
    await proxy()(new Request("https://app.example/api/telemetry", { method: "DELETE", headers: browserHeaders }));
    await proxy()(new Request("https://a/api/telemetry/dashboard", { headers: browserHeaders }));
    await proxy()(new Request("https://a/api/telemetry/dashboard/dashboard.js"));
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /summary?days=30&series=day",
      "DELETE /me",
      "GET /dashboard",
      "GET /dashboard/dashboard.js",
    ]);
  });

  test("other methods and paths are not forwarded", async () => {
    const put = await proxy()(new Request("https://a/api/telemetry", { method: "PUT", body: "{}" }));
    const other = await createTelemetryProxy({ serviceUrl, log: () => {} })(new Request("https://a/api/telemetry/../../admin"));
    const sneaky = await proxy()(new Request("https://a/api/telemetry/dashboard/..%2f..%2fexplain"));
    // A known path asked with another method: the contract's 405, saying which methods it takes.
    expect([put.status, put.headers.get("allow"), await put.json()]).toEqual([405, "GET, POST, DELETE", { ok: false, error: "method_not_allowed" }]);
    const postSummary = await proxy()(new Request("https://a/api/telemetry/summary", { method: "POST", body: "{}" }));
    expect([postSummary.status, postSummary.headers.get("allow")]).toEqual([405, "GET"]);
    // An unknown path is 404 whatever the method.
    const postElsewhere = await proxy()(new Request("https://a/api/telemetry/admin", { method: "POST", body: "{}" }));
    expect([postElsewhere.status, await postElsewhere.json()]).toEqual([404, { ok: false, error: "not_found" }]);
    expect(other.status).toBe(404);
    expect(sneaky.status).toBe(404);
    expect(seen).toHaveLength(0);
  });

  test("Sec-GPC: 1 on a POST is answered 204 and not forwarded, unless the host app opts in", async () => {
    const gpc = () => new Request("https://a/api/telemetry", { method: "POST", headers: { "sec-gpc": "1" }, body: "{}" });
    const res = await proxy()(gpc());
    expect(res.status).toBe(204);
    expect(seen).toHaveLength(0);
    const optedIn = await createTelemetryProxy({ serviceUrl, forwardDespiteGlobalPrivacyControl: true })(gpc());
    expect(optedIn.status).toBe(200);
    expect(seen).toHaveLength(1);
    // reading your own counts is not collection: GET still works with GPC
    expect((await proxy()(new Request("https://a/api/telemetry", { headers: { "sec-gpc": "1" } }))).status).toBe(200);
  });

  test("cookieNames is the allowlist of cookies forwarded", async () => {
    const p = createTelemetryProxy({ serviceUrl, cookieNames: ["app_session", "csrf"] });
    await p(new Request("https://a/api/telemetry", { headers: { cookie: "app_session=s; session=t; csrf=c; other=o" } }));
    expect(seen[0]!.headers.cookie).toBe("app_session=s; csrf=c");
  });

  test("a slow upstream gives 504 upstream_timeout after the timeout", async () => {
    delayMs = 1_000;
    const started = Date.now();
    const res = await createTelemetryProxy({ serviceUrl, timeoutMs: 200 })(new Request("https://a/api/telemetry"));
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ ok: false, error: "upstream_timeout" });
    expect(Date.now() - started).toBeLessThan(900);
  });

  test("an unreachable upstream gives 502 upstream_unavailable", async () => {
    const res = await createTelemetryProxy({ serviceUrl: "http://127.0.0.1:9" })(
      new Request("https://a/api/telemetry", { method: "POST", body: "{}" }),
    );
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ ok: false, error: "upstream_unavailable" });
  });

  test("a body over 8 KiB is refused without being forwarded", async () => {
    const res = await proxy()(new Request("https://a/api/telemetry", { method: "POST", body: "x".repeat(9000) }));
    expect(res.status).toBe(413);
    expect(seen).toHaveLength(0);
  });
});

describe("configuration and body limits", () => {
  test.each([undefined, "", "not a url", "ftp://tally.internal", "javascript:alert(1)"])(
    "serviceUrl %p never throws at load: every request is 503 proxy_not_configured, logged once",
    async (serviceUrl) => {
      const lines: string[] = [];
      const proxy = createTelemetryProxy({ serviceUrl, log: (l) => lines.push(l) });
      expect(lines).toEqual([]); // nothing at load (a `next build` evaluates the route module)
      for (let i = 0; i < 3; i++) {
        const res = await proxy(new Request("https://a/api/telemetry", { method: "POST", body: '{"event":"suggestion_shown"}' }));
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ ok: false, error: "proxy_not_configured" });
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("serviceUrl");
      expect(lines[0]).toContain("TALLY_URL");
      expect(seen).toHaveLength(0);
    },
  );

  test("Express middleware without a serviceUrl answers 503 proxy_not_configured", async () => {
    const app = express();
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: process.env.TALLY_URL_THAT_IS_NOT_SET, log: () => {} }));
    const res = await request(app).get("/api/telemetry?days=7");
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ ok: false, error: "proxy_not_configured" });
  });

  test("the body limit counts bytes, not characters", async () => {
    const fits = "é".repeat(4_000); // 8 000 bytes
    const over = "é".repeat(4_200); // 8 400 bytes, fewer than 8 192 characters
    expect((await createTelemetryProxy({ serviceUrl })(new Request("https://a/api/telemetry", { method: "POST", body: fits }))).status).toBe(200);
    expect((await createTelemetryProxy({ serviceUrl })(new Request("https://a/api/telemetry", { method: "POST", body: over }))).status).toBe(413);
    const app = express();
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl }));
    expect((await request(app).post("/api/telemetry").set("content-type", "text/plain").send(fits)).status).toBe(200);
    expect((await request(app).post("/api/telemetry").set("content-type", "text/plain").send(over)).status).toBe(413);
    expect(seen).toHaveLength(2);
  });

  test("a 400 MB streamed body is refused after 8 KiB: the rest is never read, memory stays flat", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(120);
    let pulled = 0;
    const total = 400 * 1024 * 1024;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const rssBefore = process.memoryUsage().rss;
    const res = await createTelemetryProxy({ serviceUrl })(
      new Request("https://a/api/telemetry", { method: "POST", body, duplex: "half" } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ ok: false, error: "payload_too_large" });
    expect(pulled).toBeLessThanOrEqual(4 * chunk.byteLength);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(16 * 1024 * 1024);
    expect(seen).toHaveLength(0);
  });
});

test("a malformed Idempotency-Key is refused (400), not dropped: a retry must not become a new count", async () => {
  const res = await createTelemetryProxy({ serviceUrl })(
    new Request("https://a/api/telemetry", { method: "POST", headers: { "idempotency-key": "has spaces & more" }, body: "{}" }),
  );
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ ok: false, error: "invalid_body" });
  expect(seen).toHaveLength(0);
});

test("a request outside basePath is 404 and says so once in the log (a misconfigured mount)", async () => {
  const lines: string[] = [];
  const proxy = createTelemetryProxy({ serviceUrl, log: (l) => lines.push(l) });
  for (let i = 0; i < 3; i++) {
    const res = await proxy(new Request("https://a/telemetry", { method: "POST", body: "{}" }));
    expect(res.status).toBe(404);
  }
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain("basePath");
  expect(seen).toHaveLength(0);
});

describe("Express middleware (same implementation)", () => {
  const host = () => {
    const app = express();
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl }));
    return app;
  };

  test("maps methods and forwards only the allowed headers", async () => {
    const app = host();
    const fromApp = { ...browserHeaders, host: "app.example" }; // the page's own origin
    const post = await request(app).post("/api/telemetry").set(fromApp).send('{"event":"suggestion_shown"}');
    expect(post.body).toEqual({ ok: true, path: "/ingest" });
    await request(app).get("/api/telemetry?days=7").set(browserHeaders);
    await request(app).delete("/api/telemetry").set(fromApp);
    expect(seen.map((s) => `${s.method} ${s.url} ${s.headers.cookie}`)).toEqual([
      "POST /ingest session=tok123",
      "GET /summary?days=7 session=tok123",
      "DELETE /me session=tok123",
    ]);
    expect(seen[0]!.body).toBe('{"event":"suggestion_shown"}');
    for (const s of seen) {
      expect(s.headers["x-forwarded-for"]).toBeUndefined();
      expect(s.headers.referer).toBeUndefined();
      expect(s.headers["user-agent"]).toBe("tally-proxy");
    }
  });

  test("a body over 8 KiB is refused with 413 payload_too_large and not forwarded", async () => {
    const res = await request(host()).post("/api/telemetry").set("content-type", "text/plain").send("x".repeat(9000));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ ok: false, error: "payload_too_large" });
    expect(seen).toHaveLength(0);
  });

  test("works after a JSON body parser consumed the stream", async () => {
    const app = express();
    app.use(express.json());
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl }));
    await request(app).post("/api/telemetry").send({ event: "suggestion_shown", count: 2 });
    expect(JSON.parse(seen[0]!.body)).toEqual({ event: "suggestion_shown", count: 2 });
  });

  test.each([
    ["express.raw()", express.raw({ type: "*/*" })],
    ["express.text()", express.text({ type: "*/*" })],
    ["express.urlencoded() that does not match", express.urlencoded({ extended: false })],
  ])("the body arrives whole after %s ran first", async (_name, parser) => {
    const app = express();
    app.use(parser);
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl }));
    await request(app).post("/api/telemetry").set("content-type", "application/json").send('{"event":"suggestion_shown","count":2}');
    expect(JSON.parse(seen[0]!.body)).toEqual({ event: "suggestion_shown", count: 2 });
  });

  test("upstream down: 502 in the contract's error shape, the host app keeps serving", async () => {
    const app = express();
    app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: "http://127.0.0.1:9" }));
    app.get("/", (_req, res) => res.send("home"));
    const res = await request(app).post("/api/telemetry").send({ event: "suggestion_shown" });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ ok: false, error: "upstream_unavailable" });
    expect((await request(app).get("/")).text).toBe("home");
  });
});
