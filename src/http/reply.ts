// Writing answers, the one way: every response of tally goes through
// writeReply (status, type, length, security headers and the request id in one
// writeHead), and every error answer is the contract's {"ok":false,"error":code},
// never a submitted value, message or stack.
import type { ServerResponse } from "node:http";
import { ERROR_STATUS, type ErrorCode } from "../contract/index.js";

export interface Reply {
  status?: number;
  /** A string is sent as it is (with `type`); anything else as JSON. */
  body: unknown;
  type?: string;
  headers?: Record<string, string>;
}

const JSON_TYPE = "application/json; charset=utf-8";

export function writeReply(res: ServerResponse, requestId: string, reply: Reply): void {
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  // A flat [name, value, …] list: Node writes it as it is, with no object to walk.
  const headers = [
    "content-type",
    typeof reply.body === "string" ? (reply.type ?? "text/plain; charset=utf-8") : JSON_TYPE,
    "content-length",
    String(Buffer.byteLength(text)),
    "cache-control",
    "no-store",
    "x-content-type-options",
    "nosniff",
    "x-request-id",
    requestId,
  ];
  if (reply.headers) for (const name in reply.headers) headers.push(name, reply.headers[name]!);
  res.writeHead(reply.status ?? 200, headers);
  res.end(text);
}

export function errorReply(code: ErrorCode, retryAfter?: number, headers?: Record<string, string>): Reply {
  return {
    status: ERROR_STATUS[code],
    body: { ok: false, error: code },
    headers: { ...(retryAfter !== undefined ? { "retry-after": String(retryAfter) } : {}), ...headers },
  };
}
