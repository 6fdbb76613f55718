// Every route of tally is an endpoint: a handler that returns a Reply (or
// throws), wrapped here with what each request needs and nothing more — a
// request id, the deadline, the one mapping from errors to the contract's
// answers, and the request log. Routes are registered straight on the Express
// app (no global middleware chain), ingest and summary first.
import { randomUUID } from "node:crypto";
import { parse as parseQuery } from "node:querystring";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { REQUEST_ID_PATTERN } from "../contract/index.js";
import { TelemetryError } from "../telemetry/errors.js";
import { ContractError } from "./errors.js";
import type { Deadlines } from "./deadlines.js";
import { errorReply, writeReply, type Reply } from "./reply.js";
import type { RequestLog } from "./request-log.js";

export interface EndpointContext {
  deadlines: Deadlines;
  /**
   * The hot routes by exact "METHOD /path": answered straight from node:http,
   * without Express's routing (createApp); Express still serves every other
   * request, and these same routes in any other spelling.
   */
  fast?: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Log clients' x-request-id (TALLY_TRUST_REQUEST_ID: an upstream sets it); otherwise logs carry only ids made here. */
  trustRequestId?: boolean;
  requestLog: RequestLog;
  logger: Logger;
  /** Runs before every handler (the development server's loopback-name check). */
  guard?: (req: IncomingMessage) => void;
  /** Sees every answer (metrics): route pattern, status, outcome (an error code, "ok" or "replayed"), seconds. */
  observe?: (route: string, status: number, outcome: string, seconds: number) => void;
}

/** What became of a request, for metrics: the contract's error code, or ok / replayed. */
function outcomeOf(reply: Reply): string {
  const error = (reply.body as { error?: unknown } | null)?.error;
  if (typeof error === "string") return error;
  return reply.headers?.["idempotent-replayed"] ? "replayed" : "ok";
}

/** One request's own state, made by the endpoint and handed to its handler. */
export interface RequestScope {
  /** Waiting for its session to be resolved (sessionViewer sets it): a deadline then blames the session's source. */
  waitingOnSession: boolean;
}

export type Handler = (req: IncomingMessage & { query?: unknown }, scope: RequestScope) => Reply | Promise<Reply>;

/** The deadline's answer: the client was slow, the session source was, or the store was. */
function expiredError(scope: RequestScope, slowClient: boolean): ContractError {
  if (slowClient) return new ContractError("request_timeout");
  return new ContractError(scope.waitingOnSession ? "auth_unavailable" : "store_unavailable", 1);
}

/**
 * A request's ids: `log`, the one its log lines carry, made here (a client's
 * id, even in the UUID shape, can spell a phone number in hex), unless the
 * operator trusts an upstream that sets it; `echo`, the one answered in
 * x-request-id: the client's own when it has a UUID or trace-id shape, so a
 * client can match answers, else the log id.
 */
export function requestIdsOf(req: IncomingMessage, trustClient = false): { log: string; echo: string } {
  const given = req.headers["x-request-id"];
  const valid = typeof given === "string" && REQUEST_ID_PATTERN.test(given) ? given : undefined;
  const log = valid !== undefined && trustClient ? valid : randomUUID();
  return { log, echo: valid ?? log };
}

/** A request's query string, parsed as Express 5's default ("simple", node:querystring) parser does, whichever served it. */
export function queryOf(req: IncomingMessage & { query?: unknown }): Record<string, unknown> {
  if (req.query && typeof req.query === "object") return req.query as Record<string, unknown>;
  const url = req.url ?? "";
  const at = url.indexOf("?");
  return at < 0 ? {} : parseQuery(url.slice(at + 1));
}

/** The contract's answer for anything a handler throws: its code, or 500 internal for a bug; and why, for the log only. */
function replyForError(err: unknown): { reply: Reply; bug?: unknown; reason?: string } {
  if (err instanceof ContractError || err instanceof TelemetryError) {
    // A body that was too large is not read to its end: close the connection after the answer.
    const close = err.code === "payload_too_large" || err.code === "request_timeout" ? { connection: "close" } : undefined;
    return { reply: errorReply(err.code, err.retryAfter, close), ...(err.reason ? { reason: err.reason } : {}) };
  }
  return { reply: errorReply("internal"), bug: err };
}

/** `deadlines`: a route whose work is allowed longer than REQUEST_TIMEOUT_MS (erasure) brings its own. */
export function endpoint(ctx: EndpointContext, route: string, handler: Handler, deadlines: Deadlines = ctx.deadlines) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const ids = requestIdsOf(req, ctx.trustRequestId);
    const scope: RequestScope = { waitingOnSession: false };
    const finish = (reply: Reply, bug?: unknown, reason?: string) => {
      if (res.headersSent) {
        // Already answered (the deadline fired first): a late outcome has nowhere to go.
        if (!res.writableEnded) res.destroy();
        return;
      }
      watch.settled();
      writeReply(res, ids.echo, reply);
      const ms = performance.now() - started;
      const outcome = outcomeOf(reply);
      ctx.requestLog.done({ id: ids.log, method: req.method ?? "", route, status: reply.status ?? 200, ms, err: bug, error: reply.status && reply.status >= 400 ? outcome : undefined, reason });
      ctx.observe?.(route, reply.status ?? 200, outcome, ms / 1000);
    };
    const fail = (err: unknown) => {
      const { reply, bug, reason } = replyForError(err);
      finish(reply, bug, reason);
    };
    const watch = deadlines.track({
      req,
      res,
      expire: (slowClient) => fail(expiredError(scope, slowClient)),
    });
    try {
      ctx.guard?.(req);
      const out = handler(req, scope);
      if (out instanceof Promise) out.then(finish, fail);
      else finish(out);
    } catch (err) {
      fail(err);
    }
  };
}
