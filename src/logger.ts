// One root logger; one line per request with a request id, method, matched
// route, status and duration. Never a client address, user agent, cookie,
// authorization header, query string or body: the serializers below are the
// only way request data reaches a log line.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pino, type Logger, type LoggerOptions } from "pino";
import { pinoHttp } from "pino-http";
import { REQUEST_ID_PATTERN } from "./contract/index.js";
import { classifyStoreError } from "./store/errors.js";

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: "tally" },
    // Defence in depth: nothing should ever log these, and if it does they vanish.
    redact: {
      paths: ["req.headers", "headers", "cookie", "authorization", "body", "req.body", "remoteAddress", "ip"],
      remove: true,
    },
  };
  if (destination) return pino(options, destination as pino.DestinationStream);
  return pino(options);
}

/** A request id from `x-request-id` when it is a plain token, else a new UUID; echoed back. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers["x-request-id"];
  const id = typeof given === "string" && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  res.setHeader("x-request-id", id);
  return id;
}

type RoutedRequest = IncomingMessage & { route?: { path?: string } };
// The matched route pattern, never the raw URL: an unmatched path could carry anything.
const routeOf = (req: RoutedRequest) => (typeof req.route?.path === "string" ? req.route.path : "unmatched");

export function httpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: requestId,
    quietReqLogger: true,
    quietResLogger: true,
    wrapSerializers: false,
    serializers: {
      req: (req: RoutedRequest) => ({ method: req.method, route: routeOf(req) }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
      // A bug's error, with the database's code when it came from there.
      err: (err: Error) => ({ type: err.name, code: classifyStoreError(err).code, message: err.message, stack: err.stack }),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? (res.statusCode === 503 ? "warn" : "error") : "info"),
    customSuccessMessage: () => "request",
    customErrorMessage: () => "request failed",
    customSuccessObject: (req, res, val: { responseTime: number }) => ({
      method: req.method,
      route: routeOf(req as RoutedRequest),
      status: res.statusCode,
      ms: val.responseTime,
    }),
    customErrorObject: (req, res, err, val: { responseTime: number }) => ({
      method: req.method,
      route: routeOf(req as RoutedRequest),
      status: res.statusCode,
      ms: val.responseTime,
      ...(res.statusCode >= 500 && res.statusCode !== 503 ? { err } : {}),
    }),
  });
}
