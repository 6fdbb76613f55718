// One root logger. JSON lines, always in production and whenever stdout is not
// a terminal; at a terminal outside production, human-readable (pino-pretty, a
// development dependency, used when it is installed). Request lines are written
// by http/request-log.ts; nothing else about a request is ever logged.
import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { ERROR_STATUS } from "./contract/index.js";
import { classifyStoreError } from "./store/errors.js";

/** The one shape of a logged error. */
export interface LoggedError {
  /** The error's class (TelemetryError, DatabaseError, TypeError …). */
  type: string;
  /** The contract's error code, the SQLSTATE, or Node's code, when there is one. */
  code?: string;
  /** The first line of its message (a database's, not the query's data), at most 200 characters. */
  message: string;
  /** Only for a bug (not a contract refusal, not an outage): where it happened. */
  stack?: string;
}

/**
 * Every error tally logs goes through here (the logger's `err` serializer):
 * refusals and outages are expected and logged without a stack; anything else
 * is a bug and keeps its stack.
 */
export function loggedError(err: unknown): LoggedError {
  const failure = classifyStoreError(err);
  const contractCode = typeof (err as { code?: unknown })?.code === "string" && (err as { code: string }).code in ERROR_STATUS ? (err as { code: string }).code : undefined;
  const code = contractCode ?? failure.code;
  const bug = contractCode === undefined && failure.kind === "other";
  return {
    type: err instanceof Error ? err.name : typeof err,
    ...(code !== undefined ? { code } : {}),
    message: failure.message,
    ...(bug && err instanceof Error && err.stack ? { stack: err.stack } : {}),
  };
}

export interface LoggerSettings {
  /** Human-readable lines (a terminal, outside production). */
  pretty?: boolean;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream, settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: "tally" },
    // Defence in depth: nothing should ever log these, and if it does they vanish.
    redact: {
      paths: ["req.headers", "headers", "cookie", "authorization", "body", "req.body", "remoteAddress", "ip"],
      remove: true,
    },
    serializers: { err: loggedError },
  };
  if (destination) return pino(options, destination as DestinationStream);
  if (settings.pretty) {
    const pretty = loadPretty();
    if (pretty) return pino(options, pretty({ colorize: true, ignore: "pid,hostname,service", translateTime: "SYS:HH:MM:ss" }));
  }
  return pino(options);
}

type Pretty = (opts: Record<string, unknown>) => DestinationStream;

function loadPretty(): Pretty | undefined {
  try {
    return createRequire(import.meta.url)("pino-pretty") as Pretty;
  } catch {
    return undefined; // not installed (a production install): JSON it is
  }
}
