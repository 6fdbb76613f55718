// Request logging without paying for a line per request. A request that went
// wrong (status >= 400) gets its own line — request id, method, matched route
// pattern, status, milliseconds, the contract's error code and, for a 401, the
// class of the refusal (no credential, expired, bad signature, …; never the
// credential or a claim) — so it can be traced and explained; 4xx lines are capped at
// ERROR_LINES_PER_SECOND (a flood of bad requests is summarised instead). A
// successful request is counted, and once a minute one line says how many
// requests each route answered with each status, and how fast. LOG_REQUESTS=all
// logs every request on its own line instead. Nothing else about a request is
// ever logged: no address, user agent, cookie, header, query or body.
import type { Logger } from "pino";

interface Exchange {
  id: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  /** A bug's error (500): logged with its stack. */
  err?: unknown;
  /** The contract's error code of a refusal. */
  error?: string | undefined;
  /** Why (a 401's refusal class): for the operator. */
  reason?: string | undefined;
}

export interface RequestLog {
  done(e: Exchange): void;
  /** Writes the pending summary line now (at shutdown). */
  flush(): void;
}

const ERROR_LINES_PER_SECOND = 50;

export function createRequestLog(logger: Logger, mode: "summary" | "all", intervalMs = 60_000): RequestLog {
  const tally = new Map<string, { n: number; totalMs: number; maxMs: number }>();
  let suppressed = 0;
  let second = 0;
  let linesThisSecond = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const line = (e: Exchange) => {
    const fields = {
      reqId: e.id,
      method: e.method,
      route: e.route,
      status: e.status,
      ms: Math.round(e.ms * 1000) / 1000,
      ...(e.error ? { error: e.error } : {}),
      ...(e.reason ? { reason: e.reason } : {}),
    };
    if (e.status < 500) logger.info(fields, "request");
    else if (e.status === 503) logger.warn(fields, "request failed");
    else logger.error({ ...fields, err: e.err }, "request failed");
  };

  const flush = () => {
    if (tally.size === 0 && suppressed === 0) return;
    const routes: Record<string, { n: number; avgMs: number; maxMs: number }> = {};
    for (const [k, v] of tally) routes[k] = { n: v.n, avgMs: Math.round((v.totalMs / v.n) * 100) / 100, maxMs: Math.round(v.maxMs * 100) / 100 };
    logger.info({ intervalS: intervalMs / 1000, routes, ...(suppressed ? { errorLinesSuppressed: suppressed } : {}) }, "requests");
    tally.clear();
    suppressed = 0;
  };

  return {
    done(e) {
      if (mode === "all") return line(e);
      if (e.status >= 400) {
        const now = Math.floor(Date.now() / 1000);
        if (now !== second) {
          second = now;
          linesThisSecond = 0;
        }
        if (e.status >= 500 || linesThisSecond++ < ERROR_LINES_PER_SECOND) return line(e);
        suppressed += 1;
      }
      const key = `${e.method} ${e.route} ${e.status}`;
      const t = tally.get(key);
      if (t) {
        t.n += 1;
        t.totalMs += e.ms;
        if (e.ms > t.maxMs) t.maxMs = e.ms;
      } else tally.set(key, { n: 1, totalMs: e.ms, maxMs: e.ms });
      if (!timer) {
        timer = setInterval(flush, intervalMs);
        timer.unref();
      }
    },
    flush,
  };
}
