// For host apps with opaque session cookies: ask the host's "who am I" URL.
// Only the configured session cookie and Authorization are forwarded, and only
// they make the cache key, so nothing else a client sends can bypass the cache.
// Concurrent lookups of the same credentials share one call; at most
// UPSTREAM_CONCURRENCY calls are under way at once; answers are cached
// (refusals briefly too), so tally cannot be used to flood the host or to probe
// credentials faster than the host itself allows. The cache holds at most
// SESSION_CACHE_SIZE answers, least recently used first out (as the JWT cache).
import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import { Lru } from "../lib/lru.js";
import { AuthUnavailableError, introspectedViewerId, MAX_CREDENTIAL_LENGTH, readCookie, refuse, type Refusal, type ViewerResolver } from "./credentials.js";

const TIMEOUT_MS = 2_000;
/** Upstream calls under way at once; more wait their turn. */
const UPSTREAM_CONCURRENCY = 8;
/** Lookups waiting for a turn; past this a request is answered 503 auth_unavailable at once. */
const MAX_WAITING = 1_000;
/** How long a refusal is remembered (at most AUTH_CACHE_SECONDS). */
const REFUSAL_TTL_MS = 5_000;

/** A viewer id, a refusal, or "unavailable" (the host did not answer usably). */
type Answer = string | Refusal | "unavailable";
const UNAVAILABLE = "unavailable" as const;

export function createIntrospectionResolver(auth: Config["auth"]): ViewerResolver {
  const url = auth.introspectUrl;
  if (!url) return async () => refuse("no_credential");
  const ttlMs = auth.cacheSeconds * 1000;
  const refusalTtlMs = Math.min(ttlMs, REFUSAL_TTL_MS);
  const cache = new Lru<string, { answer: string | Refusal; expires: number }>(auth.cacheSize);
  const inflight = new Map<string, Promise<Answer>>();
  const turns = limiter(UPSTREAM_CONCURRENCY, MAX_WAITING);

  async function ask(cookie: string | undefined, authorization: string | undefined): Promise<Answer> {
    const forwarded: Record<string, string> = { accept: "application/json" };
    if (cookie !== undefined) forwarded.cookie = `${auth.cookieName}=${cookie}`;
    if (authorization) forwarded.authorization = authorization;
    let res: Response;
    try {
      res = await fetch(url!, { headers: forwarded, redirect: "error", signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch {
      return UNAVAILABLE; // down, slow, or redirecting
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      await res.body?.cancel();
      return refuse("introspection_refused");
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return UNAVAILABLE; // 5xx, 429, …: the host cannot say right now
    }
    try {
      const text = await res.text();
      if (text.length > 64 * 1024) return refuse("introspection_no_viewer");
      const body: unknown = JSON.parse(text);
      const id = body && typeof body === "object" ? introspectedViewerId((body as { id?: unknown }).id) : null;
      return id ?? refuse("introspection_no_viewer");
    } catch {
      return refuse("introspection_no_viewer"); // a 200 that is not JSON (a login page): not a session
    }
  }

  return async (headers) => {
    const cookie = readCookie(headers, auth.cookieName);
    const authorization = typeof headers.authorization === "string" ? headers.authorization : undefined;
    if (cookie === undefined && !authorization) return refuse("no_credential");
    if ((cookie?.length ?? 0) + (authorization?.length ?? 0) > 2 * MAX_CREDENTIAL_LENGTH) return refuse("malformed");

    const key = createHash("sha256").update(`${cookie ?? ""}\u0000${authorization ?? ""}`).digest("hex");
    const hit = cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.answer;
    if (hit) cache.delete(key);

    let pending = inflight.get(key);
    if (!pending) {
      pending = turns(() => ask(cookie, authorization)).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    const answer = await pending;
    if (answer === UNAVAILABLE) throw new AuthUnavailableError("the introspection endpoint did not answer");
    const ttl = typeof answer === "string" ? ttlMs : refusalTtlMs;
    if (ttl > 0) cache.set(key, { answer, expires: Date.now() + ttl });
    return answer;
  };
}

/** Runs at most `max` tasks at once; a task beyond `maxWaiting` waiting ones is answered "unavailable". */
function limiter(max: number, maxWaiting: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task: () => Promise<Answer>): Promise<Answer> => {
    if (running < max) running += 1;
    else if (waiting.length >= maxWaiting) return UNAVAILABLE;
    else {
      // Resumes holding the finished task's slot; a lookup that waited longer than a call may take gives up.
      let resume!: () => void;
      const turn = new Promise<boolean>((resolve) => {
        resume = () => resolve(true);
        waiting.push(resume);
        setTimeout(() => resolve(false), TIMEOUT_MS).unref();
      });
      if (!(await turn)) {
        const at = waiting.indexOf(resume);
        if (at >= 0) {
          waiting.splice(at, 1);
          return UNAVAILABLE;
        }
        // Handed a slot at the last moment: use it.
      }
    }
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}
