// The contract's error codes, and the one place errors become HTTP answers.
// Bodies are always {"ok": false, "error": "<code>"}: never a submitted value,
// never a message or stack trace.
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { ERROR_STATUS as errorStatus, type ErrorCode } from "../contract/index.js";

export type { ErrorCode };

export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    /** Seconds, sent as Retry-After (rate_limited). */
    readonly retryAfter?: number,
  ) {
    super(code);
    this.status = errorStatus[code];
  }
}

/** Thrown by the store layer's callers when the database cannot be reached. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/**
 * Client errors raised while reading the body (body-parser, raw-body, zlib for a
 * bad Content-Encoding): http-errors objects with a 4xx status and expose=true.
 */
function bodyParserCode(err: { type?: unknown; status?: unknown; expose?: unknown }): ErrorCode | undefined {
  if (err.type === "entity.too.large" || err.status === 413) return "payload_too_large";
  const clientError = typeof err.status === "number" && err.status >= 400 && err.status < 500;
  if (clientError && (typeof err.type === "string" || err.expose === true)) return "invalid_body";
  return undefined;
}

/** Writes the contract's error answer: the code's status, {"ok":false,"error":code}, Retry-After when given. */
export function sendError(res: Response, code: ErrorCode, retryAfter?: number): void {
  if (retryAfter !== undefined) res.setHeader("retry-after", String(retryAfter));
  res.status(errorStatus[code]).json({ ok: false, error: code });
}

export const notFound: RequestHandler = (_req, _res, next) => next(new ApiError("not_found"));

export const errorHandler: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  // Already answered (the request deadline fired first): a late outcome has
  // nowhere to go. A half-sent response cannot be completed, so it is cut.
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  if (err instanceof ApiError) return sendError(res, err.code, err.retryAfter);
  if (err instanceof StoreUnavailableError) return sendError(res, "store_unavailable");
  const code = (typeof err === "object" && err !== null && bodyParserCode(err)) || "internal";
  // Only unexpected failures are logged with their error (pino-http reads
  // res.err); client mistakes are logged as a status code and nothing more.
  if (code === "internal") (res as { err?: unknown }).err = err;
  sendError(res, code);
};
