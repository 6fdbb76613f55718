// The only reader of process.env. Parsed once at boot into a frozen Config;
// a bad value stops start-up with a message naming the variable.
import { validate as isValidCron } from "node-cron";
import { z } from "zod";
import { parseDecimal, type Fraction } from "./lib/fraction.js";
import { MIGRATION_LOCK_WAIT_MS_DEFAULT } from "./store/locks.js";

/** Used outside production when TELEMETRY_ID_SECRET is unset; logged as such at start. */
export const DEV_ID_SECRET = "746c6c792d6465762d6f6e6c792d7365637265742d6e6f742d666f722d70726f64";
/** Used outside production when SESSION_SECRET is unset, so `tally token` works out of the box. */
export const DEV_SESSION_SECRET = "tally-dev-only-session-secret-not-for-production";

/**
 * Secrets anyone can read: the development defaults, and every secret the
 * repository's README, .env.example and examples show. Production refuses them
 * (tests/config/secrets.test.ts finds those in the files, so the list cannot
 * fall behind).
 */
export const PUBLIC_SECRETS: readonly string[] = [DEV_SESSION_SECRET, DEV_ID_SECRET];

/** A production secret needs at least this many distinct characters (a random 32-character value has ~14–28). */
export const SECRET_MIN_DISTINCT = 10;
const GENERATE = "generate one with `openssl rand -hex 32`";

/** Why `value` is unsafe as a production secret, or null when it is not obviously so. */
export function unsafeSecret(value: string): string | null {
  if (PUBLIC_SECRETS.includes(value)) return "it is public (a development default or an example in tally's repository)";
  if (/^(.)\1*$/s.test(value)) return "it is one character repeated";
  if (new Set(value).size < SECRET_MIN_DISTINCT) return `it has fewer than ${SECRET_MIN_DISTINCT} distinct characters`;
  return null;
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", "yes", "no", "on", "off"].includes(v), {
    message: "expected true/false/1/0",
  })
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

/** Days the anonymous daily aggregates outlive their raw rows, unless TELEMETRY_AGGREGATE_RETENTION_DAYS says otherwise. */
export const AGGREGATE_RETENTION_DAYS_DEFAULT = 400;
/** Each viewer's count in one report cell counts at most this much, unless TELEMETRY_REPORT_MAX_PER_VIEWER says otherwise. */
export const REPORT_MAX_PER_VIEWER_DEFAULT = 20;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();
const url = z.url({ protocol: /^https?$/ });

/** A comma-separated list of exact origins (`https://app.example`, no path). */
const origins = z
  .string()
  .transform((v) => v.split(",").map((o) => o.trim()).filter(Boolean))
  .pipe(
    z.array(
      z.string().refine((o) => {
        try {
          const u = new URL(o);
          return (u.protocol === "http:" || u.protocol === "https:") && u.origin === o;
        } catch {
          return false;
        }
      }, "expected origins such as https://app.example, comma-separated"),
    ),
  );

const envSchema = z.object({
  // Unset (or empty) NODE_ENV is resolved in loadConfig: production semantics where there is doubt.
  NODE_ENV: optionalString.pipe(z.enum(["development", "test", "production"]).optional()),
  PORT: int(0, 65535).default(3000),
  HOST: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_REQUESTS: z.enum(["summary", "all"]).default("summary"),
  DATABASE_URL: optionalString.pipe(
    z.string().regex(/^postgres(ql)?:\/\//, "expected a postgresql:// URL").optional(),
  ),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  REQUEST_TIMEOUT_MS: int(50, 120_000).default(10_000),
  WEB_CONCURRENCY: int(1, 64).default(1),
  INGEST_BATCH_WAIT_MS: int(0, 50).default(2),
  INGEST_BATCH_MAX_ROWS: int(1, 10_000).default(500),
  TALLY_DATA_DIR: z.string().trim().min(1).default(".data"),
  MIGRATION_LOCK_WAIT_MS: int(0, 3_600_000).default(MIGRATION_LOCK_WAIT_MS_DEFAULT),

  TELEMETRY_ENABLED: bool.default(true),
  TELEMETRY_RETENTION_DAYS: int(1, 3650).default(30),
  TELEMETRY_PURGE_CRON: z.string().trim().min(1).default("17 3 * * *"),
  TELEMETRY_ID_SECRET: optionalString.pipe(
    z.string().regex(/^[0-9a-fA-F]{32,}$/, "expected at least 32 hex characters").optional(),
  ),
  TELEMETRY_CATALOG: optionalString,
  TELEMETRY_RATE_LIMIT: int(0, 1_000_000).default(600),
  TELEMETRY_AGGREGATE_RETENTION_DAYS: int(0, 36_500).default(AGGREGATE_RETENTION_DAYS_DEFAULT),
  TELEMETRY_REPORT_MIN_VIEWERS: int(2, 1_000_000).default(5),
  TELEMETRY_REPORT_MAX_PER_VIEWER: int(1, 1_000_000).default(REPORT_MAX_PER_VIEWER_DEFAULT),
  TELEMETRY_REPORT_EPSILON: optionalString.pipe(
    z
      .string()
      .transform((v, ctx) => {
        const f = parseDecimal(v);
        if (f === null || f.p / f.q > 100) {
          ctx.addIssue({ code: "custom", message: "expected a positive decimal such as 1 or 0.5 (at most 100, 6 decimal places)" });
          return z.NEVER;
        }
        return f;
      })
      .optional(),
  ),
  REPORT_TOKEN: optionalString,
  METRICS_HOST: optionalString,
  METRICS_PORT: optionalString.pipe(
    z.string().regex(/^\d{1,5}$/, "expected a port number").transform(Number).pipe(z.number().int().min(0).max(65535)).optional(),
  ),

  AUTH_MODE: z.enum(["jwt", "introspect"]).default("jwt"),
  SESSION_COOKIE: z.string().trim().min(1).default("session"),
  SESSION_SECRET: optionalString.pipe(z.string().min(32, "expected at least 32 characters").optional()),
  SESSION_JWKS_URL: optionalString.pipe(url.optional()),
  SESSION_ISSUER: optionalString,
  SESSION_AUDIENCE: optionalString,
  AUTH_INTROSPECT_URL: optionalString.pipe(url.optional()),
  AUTH_CACHE_SECONDS: int(0, 3600).default(30),
  SESSION_CACHE_SIZE: int(1, 10_000_000).default(50_000),
  TALLY_DEV_VIEWER: bool.default(false),
  TALLY_TRUST_REQUEST_ID: bool.default(false),
  TALLY_ALLOWED_ORIGINS: origins.default([]),
});

type Env = z.infer<typeof envSchema>;

type Mode = "development" | "test" | "production";

export interface Config {
  readonly env: Mode;
  /** True when NODE_ENV was not set and the mode was inferred (see loadConfig). */
  readonly envInferred: boolean;
  readonly isProduction: boolean;
  readonly port: number;
  readonly host: string;
  readonly logLevel: Env["LOG_LEVEL"];
  /** "summary": errors one line each, successes one line per minute; "all": one line per request. */
  readonly logRequests: Env["LOG_REQUESTS"];
  /** Absent outside production means "start an embedded PostgreSQL". */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /** Processes serving behind one port (node:cluster); 1: this process alone. */
  readonly workers: number;
  /** A request not answered by then gets 503; database statements are cancelled at half of it. */
  readonly requestTimeoutMs: number;
  /** Half the request deadline: a statement is cancelled before its request times out. */
  readonly statementTimeoutMs: number;
  /** Group commit of ingest requests (telemetry/ingest-commit.ts). */
  readonly ingestBatching: { readonly maxWaitMs: number; readonly maxRows: number };
  readonly dataDir: string;
  /** How long start-up waits for another process's migration before giving up. */
  readonly migrationLockWaitMs: number;
  readonly telemetry: {
    readonly enabled: boolean;
    readonly retentionDays: number;
    readonly purgeCron: string;
    readonly catalogFile: string | undefined;
    /** Rows per viewer per minute, shared by all replicas; 0 turns the budget off. */
    readonly rateLimit: number;
    /** Days the anonymous daily aggregates are kept after their raw rows are purged (0: purged with them). */
    readonly aggregateRetentionDays: number;
    /** K: no report cell resting on fewer distinct viewers is shown. */
    readonly reportMinViewers: number;
    /** The contribution bound: each viewer's count in one report cell counts at most this much. */
    readonly reportMaxPerViewer: number;
    /** ε per report cell (exact fraction), or null: cells are not noised. */
    readonly reportEpsilon: Fraction | null;
  };
  /** Bearer token of GET /report and the report page; unset: those routes do not exist. */
  readonly reportToken: string | undefined;
  /** Port of the Prometheus /metrics listener (0: any free port); unset: no metrics listener. */
  readonly metricsPort: number | undefined;
  /** Address of the metrics listener: loopback unless METRICS_HOST says otherwise (it is unauthenticated). */
  readonly metricsHost: string;
  /** Log clients' x-request-id (only when every request passes an upstream that sets it). */
  readonly trustRequestId: boolean;
  /** Hex key for the viewer-id HMAC. */
  readonly idSecret: string;
  readonly idSecretIsDevDefault: boolean;
  readonly auth: {
    readonly mode: Env["AUTH_MODE"];
    readonly cookieName: string;
    readonly secret: string | undefined;
    readonly secretIsDevDefault: boolean;
    readonly jwksUrl: string | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    readonly introspectUrl: string | undefined;
    readonly cacheSeconds: number;
    /** Verified sessions (and hashed viewer ids) kept in memory: sized for the live viewer population. */
    readonly cacheSize: number;
    /** x-dev-viewer / dev_viewer: only with TALLY_DEV_VIEWER=true, and never in production. */
    readonly allowDevViewer: boolean;
  };
  /** Origins besides this host's own whose pages may POST/DELETE (TALLY_ALLOWED_ORIGINS). */
  readonly allowedOrigins: readonly string[];
}

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * What a process needs of the configuration, in production: `serve` every
 * secret it uses (sessions, ids, the report token), checked for safety;
 * `forget` the database and the id secret (it hashes an id); `database` only
 * the database (migrate, report, explain, purge: none hashes an id or checks
 * a session); `sessions` (`tally doctor`) the session settings only; `token`
 * (minting a development session) nothing, and never in production; `catalog`
 * (`tally types`) only the catalog.
 */
export type ConfigPurpose = "serve" | "forget" | "database" | "token" | "sessions" | "catalog";

/** The environment variables tally reads: the documented configuration (README, .env.example and docker-compose.yml list the same). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * Parses an environment (process.env by default) into a frozen Config, or
 * throws ConfigError with one line naming the setting. An empty value is
 * unset (`PORT=` in a .env file means the default).
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, purpose: ConfigPurpose = "serve"): Config {
  const set = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ""));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "environment"}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  // No NODE_ENV: a server given a DATABASE_URL runs with production semantics
  // (secrets required, no development defaults); only a machine with no
  // database configured at all (the embedded one starts) is a development box.
  const env: Mode = e.NODE_ENV ?? (e.DATABASE_URL ? "production" : "development");
  const isProduction = env === "production";

  if (!isValidCron(e.TELEMETRY_PURGE_CRON)) {
    throw new ConfigError("invalid configuration: TELEMETRY_PURGE_CRON: expected a cron expression such as '17 3 * * *'");
  }

  if (isProduction && purpose === "token") throw new ConfigError("tally token is for development only: in production, sessions come from the host app");
  if (isProduction) {
    const serving = purpose === "serve";
    const missing: string[] = [];
    const sessions = serving || purpose === "sessions";
    if (purpose !== "sessions" && purpose !== "catalog" && !e.DATABASE_URL) missing.push("DATABASE_URL");
    if ((serving || purpose === "forget") && !e.TELEMETRY_ID_SECRET) missing.push("TELEMETRY_ID_SECRET");
    if (sessions && e.AUTH_MODE === "jwt" && !e.SESSION_SECRET && !e.SESSION_JWKS_URL) missing.push("SESSION_SECRET or SESSION_JWKS_URL");
    if (sessions && e.AUTH_MODE === "introspect" && !e.AUTH_INTROSPECT_URL) missing.push("AUTH_INTROSPECT_URL");
    if (missing.length > 0) {
      const why = e.NODE_ENV ? "" : " (NODE_ENV is unset and DATABASE_URL is set, so this is production; set NODE_ENV=development for a development server)";
      throw new ConfigError(`refusing to ${serving ? "start" : "run"} in production without ${missing.join(", ")}${why}`);
    }
    if (serving && e.TALLY_DEV_VIEWER) {
      throw new ConfigError("refusing to start: TALLY_DEV_VIEWER lets any client act as any viewer and is never allowed in production");
    }
    if (serving && e.REPORT_TOKEN !== undefined && e.REPORT_TOKEN.length < 16) {
      throw new ConfigError("invalid configuration: REPORT_TOKEN: expected at least 16 characters in production (it guards the cross-viewer report)");
    }
    // The secrets a server uses must be its own: not public, not trivial, not one another.
    if (serving) {
      const secrets: [string, string | undefined][] = [
        ["SESSION_SECRET", e.SESSION_SECRET],
        ["TELEMETRY_ID_SECRET", e.TELEMETRY_ID_SECRET],
        ["REPORT_TOKEN", e.REPORT_TOKEN],
      ];
      for (const [name, value] of secrets) {
        const why = value === undefined ? null : unsafeSecret(value);
        if (why) throw new ConfigError(`refusing to start: ${name} is unsafe: ${why}; ${GENERATE}`);
      }
      if (e.SESSION_SECRET !== undefined && e.SESSION_SECRET === e.TELEMETRY_ID_SECRET) {
        throw new ConfigError(`refusing to start: TELEMETRY_ID_SECRET is unsafe: it equals SESSION_SECRET (a host app holding one would hold both); ${GENERATE}`);
      }
    }
  } else if (e.AUTH_MODE === "introspect" && !e.AUTH_INTROSPECT_URL) {
    throw new ConfigError("invalid configuration: AUTH_MODE=introspect needs AUTH_INTROSPECT_URL");
  }

  const useDevSessionSecret = !isProduction && !e.SESSION_SECRET && !e.SESSION_JWKS_URL;
  const host = e.HOST ?? (isProduction ? "0.0.0.0" : "127.0.0.1");
  // What only a loopback-bound development server may do: anyone who can reach
  // a public port could act as anyone with it.
  if (!isProduction && !isLoopback(host)) {
    if (e.TALLY_DEV_VIEWER) {
      throw new ConfigError(`refusing to start: TALLY_DEV_VIEWER on HOST=${host} would let anyone who can reach this port act as any viewer; listen on 127.0.0.1`);
    }
    if (useDevSessionSecret && e.AUTH_MODE === "jwt") {
      throw new ConfigError(`refusing to start: HOST=${host} with the public development SESSION_SECRET would let anyone mint sessions; set SESSION_SECRET (or listen on 127.0.0.1)`);
    }
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError("invalid configuration: METRICS_PORT must differ from PORT");
  }
  const config: Config = {
    env,
    envInferred: e.NODE_ENV === undefined,
    isProduction,
    port: e.PORT,
    // Development listens on loopback unless told otherwise; production on every interface (containers).
    host,
    logLevel: e.LOG_LEVEL,
    logRequests: e.LOG_REQUESTS,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    workers: e.WEB_CONCURRENCY,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    statementTimeoutMs: Math.max(25, Math.floor(e.REQUEST_TIMEOUT_MS / 2)),
    ingestBatching: { maxWaitMs: e.INGEST_BATCH_WAIT_MS, maxRows: e.INGEST_BATCH_MAX_ROWS },
    dataDir: e.TALLY_DATA_DIR,
    migrationLockWaitMs: e.MIGRATION_LOCK_WAIT_MS,
    telemetry: {
      enabled: e.TELEMETRY_ENABLED,
      retentionDays: e.TELEMETRY_RETENTION_DAYS,
      purgeCron: e.TELEMETRY_PURGE_CRON,
      catalogFile: e.TELEMETRY_CATALOG,
      rateLimit: e.TELEMETRY_RATE_LIMIT,
      aggregateRetentionDays: e.TELEMETRY_AGGREGATE_RETENTION_DAYS,
      reportMinViewers: e.TELEMETRY_REPORT_MIN_VIEWERS,
      reportMaxPerViewer: e.TELEMETRY_REPORT_MAX_PER_VIEWER,
      reportEpsilon: e.TELEMETRY_REPORT_EPSILON ?? null,
    },
    reportToken: e.REPORT_TOKEN,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST ?? "127.0.0.1",
    trustRequestId: e.TALLY_TRUST_REQUEST_ID,
    idSecret: e.TELEMETRY_ID_SECRET ?? DEV_ID_SECRET,
    idSecretIsDevDefault: !e.TELEMETRY_ID_SECRET,
    auth: {
      mode: e.AUTH_MODE,
      cookieName: e.SESSION_COOKIE,
      secret: useDevSessionSecret ? DEV_SESSION_SECRET : e.SESSION_SECRET,
      secretIsDevDefault: useDevSessionSecret,
      jwksUrl: e.SESSION_JWKS_URL,
      issuer: e.SESSION_ISSUER,
      audience: e.SESSION_AUDIENCE,
      introspectUrl: e.AUTH_INTROSPECT_URL,
      cacheSeconds: e.AUTH_CACHE_SECONDS,
      cacheSize: e.SESSION_CACHE_SIZE,
      allowDevViewer: e.TALLY_DEV_VIEWER,
    },
    allowedOrigins: e.TALLY_ALLOWED_ORIGINS,
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) {
    if (v && typeof v === "object") deepFreeze(v as object);
  }
  return Object.freeze(value);
}
