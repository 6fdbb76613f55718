// For host apps with opaque session cookies: ask the host's "who am I" URL,
// forwarding only the request's cookie and authorization headers. Positive
// answers are cached briefly under a hash of the credentials (never the raw ones).
import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import { MAX_CREDENTIAL_LENGTH, validViewerId, type ViewerResolver } from "./credentials.js";

const MAX_CACHE_ENTRIES = 10_000;
const TIMEOUT_MS = 2_000;

export function createIntrospectionResolver(auth: Config["auth"]): ViewerResolver {
  const url = auth.introspectUrl;
  if (!url) return async () => null;
  const ttlMs = auth.cacheSeconds * 1000;
  const cache = new Map<string, { viewer: string; expires: number }>();

  return async (headers) => {
    const cookie = typeof headers.cookie === "string" ? headers.cookie : undefined;
    const authorization = headers.authorization;
    if (!cookie && !authorization) return null;
    if ((cookie?.length ?? 0) + (authorization?.length ?? 0) > 2 * MAX_CREDENTIAL_LENGTH) return null;

    const cacheKey = createHash("sha256").update(`${cookie ?? ""}\n${authorization ?? ""}`).digest("hex");
    const hit = cache.get(cacheKey);
    if (hit && hit.expires > Date.now()) return hit.viewer;
    if (hit) cache.delete(cacheKey);

    const forwarded: Record<string, string> = { accept: "application/json" };
    if (cookie) forwarded.cookie = cookie;
    if (authorization) forwarded.authorization = authorization;
    let viewer: string | null = null;
    try {
      const res = await fetch(url, { headers: forwarded, redirect: "error", signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (res.status !== 200) {
        await res.body?.cancel();
        return null;
      }
      const text = await res.text();
      if (text.length > 64 * 1024) return null;
      const body: unknown = JSON.parse(text);
      viewer = body && typeof body === "object" ? validViewerId((body as { id?: unknown }).id) : null;
    } catch {
      return null; // down, slow, or not JSON: no viewer
    }
    if (viewer && ttlMs > 0) {
      if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(cacheKey, { viewer, expires: Date.now() + ttlMs });
    }
    return viewer;
  };
}
