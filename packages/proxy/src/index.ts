// @tally/proxy — the host app's same-origin route to the tally service.
//
//   // Next.js App Router: app/api/telemetry/[[...path]]/route.ts
//   import { createTelemetryProxy } from "@tally/proxy";
//   const proxy = createTelemetryProxy({ serviceUrl: process.env.TALLY_URL });
//   export { proxy as GET, proxy as POST, proxy as DELETE };
//
//   // Express
//   app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: process.env.TALLY_URL }));
//
// POST -> POST /ingest, GET ?days=N -> GET /summary, GET /binding -> GET
// /binding, DELETE -> DELETE /me, and GET /dashboard[...] -> the service's dev
// dashboard. It forwards the session cookie(s), Authorization,
// Idempotency-Key and the session binding, and nothing else: no client
// address, no user agent, no referrer, no other cookies, no client-chosen
// request id (the service is sent one made here).
import {
  BINDING_HEADER,
  BINDING_PATTERN,
  ERROR_STATUS,
  IDEMPOTENCY_KEY_PATTERN,
  isCrossSiteWrite,
  REQUEST_ID_PATTERN,
  sessionCookie,
  type ErrorCode,
} from "../../../src/contract/index.js";

export interface TelemetryProxyOptions {
  /**
   * Base URL of the tally service, e.g. `process.env.TALLY_URL`. When it is
   * missing or not an http(s) URL the proxy still loads (a build never fails
   * on it): every request is answered `503 proxy_not_configured` and one line
   * saying so is logged.
   */
  serviceUrl: string | undefined;
  /** Where the proxy is mounted in the host app (Fetch handler only). Default `/api/telemetry`. */
  basePath?: string;
  /** Cookies forwarded to the service (the session). Default `["session"]`. */
  cookieNames?: readonly string[];
  /** Upstream timeout in milliseconds. Default 2000. */
  timeoutMs?: number;
  /**
   * A POST from a browser sending `Sec-GPC: 1` (Global Privacy Control) is
   * answered 204 and not forwarded, unless this is true.
   */
  forwardDespiteGlobalPrivacyControl?: boolean;
  /**
   * Origins besides the app's own whose pages may POST or DELETE through the
   * proxy. Writes from any other site (Sec-Fetch-Site: cross-site, or a foreign
   * Origin) are answered `403 cross_site`. Default none.
   */
  allowedOrigins?: readonly string[];
  /** Where the one configuration warning goes. Default `console.error`. */
  log?: (line: string) => void;
  /** For tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

export type FetchHandler = (request: Request) => Promise<Response>;

/** Largest body forwarded, in bytes; the service refuses anything over 4 KiB anyway. */
const MAX_BODY_BYTES = 8 * 1024;

/** The contract's error answer: `{"ok":false,"error":code}` with the code's status. */
function refuse(code: ErrorCode, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ ok: false, error: code }), {
    status: ERROR_STATUS[code],
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

/**
 * One `name=value` per name in `names`, by the service's own rule (the
 * contract's sessionCookie): the exact name (`sessionX` is not `session`), the
 * value as sent, and nothing when several cookies of that name disagree — a
 * sibling subdomain can plant one beside the app's, and forwarding both would
 * let it pin the visitor to its own session.
 */
function pickCookies(header: string | null, names: ReadonlySet<string>): string | undefined {
  const kept: string[] = [];
  for (const name of names) {
    const value = sessionCookie(header, name);
    if (value !== undefined) kept.push(`${name}=${value}`);
  }
  return kept.length > 0 ? kept.join("; ") : undefined;
}

/** Maps a proxied request to the service route, or null when there is none. */
/** The methods each of the proxy's paths answers (a known path asked with another method: 405 with Allow). */
function allowedMethods(subpath: string): string | null {
  const path = subpath.replace(/\/+$/, "");
  if (path === "") return "GET, POST, DELETE";
  if (path === "/summary" || path === "/binding" || path === "/dashboard" || /^\/dashboard\/[A-Za-z0-9._-]+$/.test(path)) return "GET";
  return null;
}

function route(method: string, subpath: string, search: URLSearchParams): string | null {
  const path = subpath.replace(/\/+$/, "");
  if (path === "" || path === "/summary") {
    if (method === "POST" && path === "") return "/ingest";
    if (method === "DELETE" && path === "") return "/me";
    if (method === "GET") {
      const query = new URLSearchParams();
      for (const key of ["days", "series"]) {
        const value = search.get(key);
        if (value !== null) query.set(key, value);
      }
      const qs = query.toString();
      return `/summary${qs ? `?${qs}` : ""}`;
    }
    return null;
  }
  if (method === "GET" && path === "/binding") return "/binding";
  if (method === "GET" && (path === "/dashboard" || /^\/dashboard\/[A-Za-z0-9._-]+$/.test(path))) return path;
  return null;
}

/** The service's base URL, or null when it is missing or not http(s). */
function serviceBase(url: string | undefined): string | null {
  try {
    const parsed = new URL(url ?? "");
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href.replace(/\/+$/, "") : null;
  } catch {
    return null;
  }
}

/**
 * Reads at most `limit` bytes of a body stream; past that it cancels the
 * stream (the rest is never read) and returns null.
 */
async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return concat(chunks, size);
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The proxy as a Fetch `Request -> Response` handler (Next.js route handlers, Hono, Bun, Deno…). */
export function createTelemetryProxy(options: TelemetryProxyOptions): FetchHandler {
  const service = serviceBase(options.serviceUrl);
  const basePath = (options.basePath ?? "/api/telemetry").replace(/\/+$/, "");
  const cookieNames = new Set(options.cookieNames ?? ["session"]);
  const timeoutMs = options.timeoutMs ?? 2_000;
  const upstream = options.fetch ?? fetch;
  const log = options.log ?? console.error;
  let warned = false;
  let warnedPath = false;

  return async (request) => {
    const url = new URL(request.url);
    // The service's logs carry the id made here; the client's own (in a shape that
    // cannot carry a name) is only echoed back to it.
    const requestId = crypto.randomUUID();
    const given = request.headers.get("x-request-id");
    const idHeader = { "x-request-id": given && REQUEST_ID_PATTERN.test(given) ? given : requestId };
    if (!url.pathname.startsWith(basePath)) {
      // Mounted somewhere else than basePath says: every count would be refused, so say so once.
      if (!warnedPath) log(`@tally/proxy: a request arrived outside basePath (${basePath}); set basePath to where the route is mounted`);
      warnedPath = true;
      return refuse("not_found", idHeader);
    }
    const subpath = url.pathname.slice(basePath.length);
    const target = route(request.method, subpath, url.searchParams);
    if (!target) {
      const allow = allowedMethods(subpath);
      return allow ? refuse("method_not_allowed", { ...idHeader, allow }) : refuse("not_found", idHeader);
    }
    const crossSite = isCrossSiteWrite(
      {
        method: request.method,
        secFetchSite: request.headers.get("sec-fetch-site"),
        origin: request.headers.get("origin"),
        host: request.headers.get("x-forwarded-host") ?? request.headers.get("host") ?? url.host,
      },
      options.allowedOrigins ?? [],
    );
    if (crossSite) return refuse("cross_site", idHeader);

    if (!service) {
      // Logged on first use, not at load: a build that evaluates the route module stays quiet and never fails.
      if (!warned) log("@tally/proxy: serviceUrl is not set to an http(s) URL (is TALLY_URL set?); answering 503 proxy_not_configured");
      warned = true;
      return refuse("proxy_not_configured", idHeader);
    }

    if (target === "/ingest" && request.headers.get("sec-gpc") === "1" && !options.forwardDespiteGlobalPrivacyControl) {
      return new Response(null, { status: 204, headers: idHeader }); // honoured, counted nowhere
    }

    // Built from scratch: only what the service needs crosses.
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "tally-proxy", "x-request-id": requestId };
    const cookie = pickCookies(request.headers.get("cookie"), cookieNames);
    if (cookie) headers.cookie = cookie;
    const authorization = request.headers.get("authorization");
    if (authorization) headers.authorization = authorization;
    const idempotencyKey = request.headers.get("idempotency-key");
    if (idempotencyKey !== null) {
      // Dropping a malformed key would turn every retry into a new count: refuse it, as the service does.
      if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) return refuse("invalid_body", idHeader);
      headers["idempotency-key"] = idempotencyKey;
    }
    const binding = request.headers.get(BINDING_HEADER);
    if (binding !== null) {
      // Dropped, a count tracked under another session would be stored under this one: refused as the service would.
      if (!BINDING_PATTERN.test(binding)) return refuse("session_mismatch", idHeader);
      headers[BINDING_HEADER] = binding;
    }

    let body: Uint8Array<ArrayBuffer> | undefined;
    if (target === "/ingest") {
      const read = await readLimited(request.body, MAX_BODY_BYTES).catch(() => undefined);
      if (read === null) return refuse("payload_too_large", idHeader);
      body = read ?? new Uint8Array(0); // an aborted upload forwards nothing: the service answers invalid_body
      headers["content-type"] = request.headers.get("content-type") ?? "application/json";
    }

    try {
      const res = await upstream(`${service}${target}`, {
        method: request.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      const out = new Headers({ "cache-control": "no-store", ...idHeader });
      for (const name of ["content-type", "retry-after", "content-security-policy"]) {
        const value = res.headers.get(name);
        if (value) out.set(name, value);
      }
      return new Response(await res.arrayBuffer(), { status: res.status, headers: out });
    } catch (err) {
      // Duck-typed: the DOMException may come from another realm than this module's Error.
      const name = (err as { name?: unknown } | null)?.name;
      const timedOut = name === "TimeoutError" || name === "AbortError";
      return refuse(timedOut ? "upstream_timeout" : "upstream_unavailable", idHeader);
    }
  };
}

/**
 * What the Express adapter reads of a request and writes of a response: Node's
 * IncomingMessage and ServerResponse fit, and so do Express's. Spelled out
 * here so the package's types need nothing from @types/node.
 */
export interface NodeLikeRequest extends AsyncIterable<unknown> {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Set when a body parser ran before the proxy. */
  body?: unknown;
  /** True once the body stream has been read (by a body parser). */
  readableEnded?: boolean;
}
export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(chunk?: Uint8Array | string): unknown;
}
type Next = (err?: unknown) => void;

/**
 * The same proxy as Express middleware: `app.use("/api/telemetry", expressTelemetryProxy(opts))`.
 * Mount it before any body parser, or leave the body unparsed for this path.
 */
export function expressTelemetryProxy(options: TelemetryProxyOptions) {
  // Express strips the mount path from req.url, so the handler sees paths under a fixed base.
  const handler = createTelemetryProxy({ ...options, basePath: "/mount" });
  return async (req: NodeLikeRequest, res: NodeLikeResponse, next: Next): Promise<void> => {
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers.set(name, value);
        else if (Array.isArray(value)) headers.set(name, value.join(name === "cookie" ? "; " : ", "));
      }
      const body = req.method === "POST" ? await readBody(req) : undefined;
      if (body === null) {
        res.statusCode = 413;
        res.setHeader("content-type", "application/json");
        res.setHeader("connection", "close"); // the rest of the body is never read
        return void res.end(JSON.stringify({ ok: false, error: "payload_too_large" }));
      }
      const request = new Request(`http://host.invalid/mount${req.url ?? "/"}`, {
        method: req.method ?? "GET",
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const response = await handler(request);
      res.statusCode = response.status;
      response.headers.forEach((value, name) => res.setHeader(name, value));
      res.end(new Uint8Array(await response.arrayBuffer()));
    } catch (err) {
      next(err);
    }
  };
}

/** The request body, or null when it is over MAX_BODY_BYTES (the rest is not read). */
async function readBody(req: NodeLikeRequest): Promise<Uint8Array<ArrayBuffer> | null> {
  if (req.readableEnded) {
    // A body parser read the stream first: forward what it made of it.
    const b = req.body;
    const bytes =
      b instanceof Uint8Array
        ? new Uint8Array(b)
        : new TextEncoder().encode(typeof b === "string" ? b : b === undefined || b === null ? "" : JSON.stringify(b));
    return bytes.byteLength > MAX_BODY_BYTES ? null : bytes;
  }
  let size = 0;
  const chunks: Uint8Array[] = [];
  for await (const chunk of req) {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : (chunk as Uint8Array);
    size += bytes.byteLength;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(bytes);
  }
  return concat(chunks, size);
}
