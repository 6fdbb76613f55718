// One root logger. JSON lines, always in production and whenever stdout is not
// a terminal; at a terminal outside production, human-readable (pino-pretty, a
// development dependency, used when it is installed). Request lines are written
// by http/request-log.ts; nothing else about a request is ever logged.
import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { classifyStoreError } from "./store/errors.js";

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
    serializers: {
      // A bug's error, with the database's code when it came from there.
      err: (err: unknown) =>
        err instanceof Error
          ? { type: err.name, code: classifyStoreError(err).code, message: err.message, stack: err.stack }
          : err,
    },
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
