#!/usr/bin/env node
// The `tally` command. Exit codes: 0 success, 2 bad usage (with a usage line),
// 1 failure (with a one-line reason). Commands are the service's own use cases
// (src/telemetry/service.ts): purge is the cron job, explain is GET /explain,
// forget is DELETE /me by id.
import { parseArgs } from "node:util";
import { loadConfig, type Config, type ConfigPurpose } from "../config.js";
import { REPORT_MAX_DAYS } from "../contract/index.js";
import type { TelemetryService } from "../telemetry/service.js";

// Each command imports what it needs when it runs: `tally help` or a usage
// error answers in milliseconds instead of loading Express, Prisma and jose.
const USAGE = `usage: tally <command> [options]
  serve                                   start the HTTP service
  migrate                                 apply pending database migrations
  purge [--dry-run] [--days N] [--json]   delete rows older than the retention period
  explain [--json]                        what tally collects (same as GET /explain)
  report [--days N | --from D --to D] [--json | --csv]
                                          counts across viewers (k-anonymous; same as GET /report)
  forget --viewer ID [--dry-run] [--json] erase one viewer's rows
  doctor                                  read a session token from stdin: accepted, or why not
  types                                   print the catalog's event and rate names as a .d.ts (for createTelemetry<EventName>())
  token --viewer ID [--ttl SECONDS]       development only: mint a session JWT`;

class UsageError extends Error {}

const SHUTDOWN_DEADLINE_MS = 10_000;

type Flags = Record<string, string | boolean | undefined>;

function flags(args: string[], spec: Record<string, "string" | "boolean">): Flags {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: Object.fromEntries(Object.entries(spec).map(([k, type]) => [k, { type }])),
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    return values as Flags;
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
}

function positiveInt(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${name} takes a whole number of at least 1`);
  }
  return Number(value);
}

function requiredString(value: string | boolean | undefined, name: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new UsageError(`${name} is required`);
  return value;
}

/** The use cases for a one-shot command (migrating first, so a fresh database works). */
async function withTelemetry<T>(config: Config, work: (telemetry: TelemetryService) => Promise<T>): Promise<T> {
  const [{ openRuntime }, { createLogger }] = await Promise.all([import("../runtime.js"), import("../logger.js")]);
  const runtime = await openRuntime(config, createLogger("warn", process.stderr), { poolSize: 2 });
  try {
    return await work(runtime.telemetry);
  } finally {
    await runtime.close();
  }
}

const print = (value: unknown) => process.stdout.write(`${typeof value === "string" ? value : JSON.stringify(value, null, 2)}\n`);

async function serve(config: Config, args: string[]): Promise<void> {
  flags(args, {});
  const [{ createLogger }, { startService }, { default: cluster }, { RUN_SCHEDULER }] = await Promise.all([
    import("../logger.js"),
    import("../server.js"),
    import("node:cluster"),
    import("../cluster.js"),
  ]);
  // Human-readable at a terminal in development; JSON otherwise and always in production.
  const logger = createLogger(config.logLevel, undefined, { pretty: !config.isProduction && process.stdout.isTTY === true });
  if (config.workers > 1 && cluster.isPrimary) return servePrimary(config, logger);
  const worker = cluster.isWorker ? { id: cluster.worker!.id } : undefined;
  // A cluster's worker: the primary may ask it to run the schedules (maybe before start-up has finished).
  let runScheduler = false;
  if (worker) process.on("message", (m) => m === RUN_SCHEDULER && ((runScheduler = true), service?.startScheduler()));
  // Signals are handled from the first moment: Ctrl-C while the embedded
  // database starts stops it again instead of leaving it running.
  const starting = new AbortController();
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (!service) return starting.abort();
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error("shutdown deadline passed; exiting");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    service.close().then(
      () => {
        logger.info("stopped");
        logger.flush();
        process.exit(0);
      },
      (err: Error) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // The terminal closed: stop as for Ctrl-C (the default would exit at once and leave an embedded database running).
  process.on("SIGHUP", () => stop("SIGHUP"));
  try {
    service = await startService(config, logger, starting.signal, worker);
  } catch (err) {
    // Asked to stop while starting (Ctrl-C, a cluster shutting down): what was started is stopped; that is a clean stop.
    if (starting.signal.aborted) {
      logger.info("stopped before start-up had finished");
      logger.flush();
      process.exit(0);
    }
    logger.flush();
    throw err;
  }
  if (starting.signal.aborted) return stop("SIGINT");
  if (runScheduler) service.startScheduler();
  if (worker) process.on("disconnect", () => stop("primary exited"));
  if (service.ownsEmbeddedDatabase) watchParent(() => stop("parent exited"));
}

/** WEB_CONCURRENCY > 1: the primary of a cluster of workers (src/cluster.ts). */
async function servePrimary(config: Config, logger: import("pino").Logger): Promise<void> {
  const { startPrimary } = await import("../cluster.js");
  const state: { primary?: Awaited<ReturnType<typeof startPrimary>>; asked?: string; stopping?: boolean } = {};
  const stop = (signal: string) => {
    if (!state.primary) return void (state.asked ??= signal); // stopped as soon as it has started
    if (state.stopping) return; // a second signal waits for the drain already under way
    state.stopping = true;
    // The workers get DRAIN_MS before they are killed; past that and this deadline (a database that will not stop), exit anyway.
    setTimeout(() => {
      logger.error("shutdown deadline passed; exiting");
      logger.flush();
      process.exit(1);
    }, 2 * SHUTDOWN_DEADLINE_MS).unref();
    void state.primary.stop(signal).then((code) => {
      logger.info("stopped");
      logger.flush();
      process.exit(code);
    });
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => stop(signal));
  state.primary = await startPrimary(config, logger);
  if (state.asked) return stop(state.asked);
  if (state.primary.ownsEmbeddedDatabase) watchParent(() => stop("parent exited"));
}

/**
 * Calls `gone` once the process that started this one has exited — `kill -9`
 * of npm sends this process nothing — so an embedded database is never left
 * running without its owner. A process started by init (a container's PID 1
 * child, a service manager) has no such parent to watch.
 */
function watchParent(gone: () => void): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone();
  }, 500);
  timer.unref();
}

async function run(command: string | undefined, args: string[]): Promise<number> {
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    print(USAGE);
    return command === undefined ? 2 : 0;
  }
  // Each command needs only what it uses: in production `serve` needs every secret (checked for
  // safety); `forget` the database and the id secret (it hashes an id); the others only the database.
  const purposes: Record<string, ConfigPurpose> = { serve: "serve", token: "token", forget: "forget", doctor: "sessions", types: "catalog" };
  const config = loadConfig(process.env, purposes[command] ?? "database");
  switch (command) {
    case "serve":
      await serve(config, args);
      return -1; // keeps running until a signal
    case "migrate": {
      flags(args, {});
      const { migrateDatabase } = await import("../runtime.js");
      const result = await migrateDatabase(config);
      const { plural } = await import("./format.js");
      const functions = result.functions.length ? `; ${plural(result.functions.length, "SQL function")} applied: ${result.functions.join(", ")}` : "";
      print(`applied ${plural(result.applied.length, "migration")}${result.applied.length ? `: ${result.applied.join(", ")}` : ""}; ${result.alreadyApplied.length} already applied${functions}`);
      return 0;
    }
    case "purge": {
      const f = flags(args, { "dry-run": "boolean", days: "string", json: "boolean" });
      const retentionDays = positiveInt(f.days, "--days") ?? config.telemetry.retentionDays;
      const result = await withTelemetry(config, (telemetry) => telemetry.purge({ retentionDays, dryRun: f["dry-run"] === true, trigger: "cli" }));
      if (f.json) print({ ...result, cutoff: result.cutoff.toISOString(), retentionDays });
      else if (result.skipped) print("purge skipped: another process is purging right now");
      else {
        const { plural } = await import("./format.js");
        const would = result.dryRun ? "would be " : "";
        print(
          [
            `${result.dryRun ? "would delete" : "deleted"} ${plural(result.rows, "row")} created before ${result.cutoff.toISOString()} (retention ${plural(retentionDays, "day")})`,
            ...result.partitions.map((p) => `  day ${p.day}: partition ${would}dropped, ${plural(p.rows, "row")}`),
            `  boundary day: ${plural(result.boundaryRows, "row")} ${would}deleted`,
          ].join("\n"),
        );
      }
      return result.skipped ? 1 : 0;
    }
    case "explain": {
      const f = flags(args, { json: "boolean" });
      const { formatManifest } = await import("./format.js");
      // The operator's view: the public manifest plus figures about the data (never served by GET /explain).
      const manifest = await withTelemetry(config, (telemetry) => telemetry.explain({ operator: true }));
      print(f.json ? manifest : formatManifest(manifest));
      return 0;
    }
    case "report": {
      const f = flags(args, { days: "string", from: "string", to: "string", json: "boolean", csv: "boolean" });
      if (f.json && f.csv) throw new UsageError("--json and --csv: choose one");
      if (f.days !== undefined && (f.from !== undefined || f.to !== undefined)) throw new UsageError("--days or --from/--to: choose one");
      if ((f.from === undefined) !== (f.to === undefined)) throw new UsageError("--from and --to go together (UTC days, YYYY-MM-DD, inclusive)");
      const days = positiveInt(f.days, "--days");
      const { TelemetryError } = await import("../telemetry/errors.js");
      const { formatReport, reportCsv } = await import("./format.js");
      const report = await withTelemetry(config, (telemetry) => telemetry.report({ days, from: f.from, to: f.to })).catch((err: unknown) => {
        if (err instanceof TelemetryError && err.code === "invalid_range") throw new UsageError(`--from and --to must be UTC days (YYYY-MM-DD, 1970-01-01 or later), from <= to, at most ${REPORT_MAX_DAYS} days apart`);
        throw err;
      });
      print(f.json ? { ok: true, ...report } : f.csv ? reportCsv(report) : formatReport(report));
      return 0;
    }
    case "forget": {
      const f = flags(args, { viewer: "string", "dry-run": "boolean", json: "boolean" });
      const viewer = requiredString(f.viewer, "--viewer");
      const { exactViewerId } = await import("../auth/credentials.js");
      const exact = exactViewerId(viewer);
      if (!exact) throw new UsageError("--viewer must be the session's viewer id exactly: 1..256 characters, no control characters");
      if (config.idSecretIsDevDefault && config.databaseUrl) {
        // The service that stored the rows hashed ids with its own secret: the development one would match nothing.
        throw new Error("TELEMETRY_ID_SECRET is not set: viewer ids would be hashed with the development secret, not the service's; set it to the service's value");
      }
      const dryRun = f["dry-run"] === true;
      const [{ secretFingerprint }, { plural }] = await Promise.all([import("../telemetry/identity.js"), import("./format.js")]);
      const fingerprint = secretFingerprint(config.idSecret);
      const erased = await withTelemetry(config, (telemetry) => telemetry.forget(exact, { dryRun }));
      const matched = erased.matched > 0;
      if (f.json) print({ dryRun, rows: erased.events, matched, idSecretFingerprint: fingerprint });
      else if (matched) print(`${dryRun ? "would delete" : "deleted"} ${plural(erased.events, "row")} of counts and everything else stored for that viewer (id secret ${fingerprint})`);
      // Nothing matched: say so, and why it may be (a mistyped id, or another secret than the service's).
      if (!matched) {
        const spaces = exact !== exact.trim() ? " The id has leading or trailing white space: ids are matched exactly." : "";
        process.stderr.write(
          `tally: nothing is stored for that viewer id under the id secret with fingerprint ${fingerprint} (TELEMETRY_ID_SECRET; the service logs its own at start).${spaces}${dryRun ? "" : " A tombstone was left anyway, so counts still on their way are refused."}\n`,
        );
        return 1;
      }
      return 0;
    }
    case "doctor": {
      flags(args, {});
      if (process.stdin.isTTY) process.stderr.write("paste the session token (or `Bearer <token>`, or the cookie), then Ctrl-D\n");
      let input = "";
      for await (const chunk of process.stdin) input += String(chunk);
      if (!input.trim()) throw new UsageError("give the session token on stdin, e.g. `echo \"$TOKEN\" | tally doctor`");
      const { diagnose } = await import("./doctor.js");
      const { accepted, lines } = await diagnose(input, config);
      print(lines.join("\n"));
      return accepted ? 0 : 1;
    }
    case "types": {
      flags(args, {});
      const [{ loadCatalog }, { catalogTypes }] = await Promise.all([import("../catalog/catalog.js"), import("../catalog/types.js")]);
      const file = config.telemetry.catalogFile;
      print(catalogTypes(loadCatalog(file), file ? `TELEMETRY_CATALOG (${file.split(/[\\/]/).pop()})` : "the default catalog").trimEnd());
      return 0;
    }
    case "token": {
      const f = flags(args, { viewer: "string", ttl: "string" });
      const viewer = requiredString(f.viewer, "--viewer");
      const ttlSeconds = positiveInt(f.ttl, "--ttl") ?? 3600;
      if (config.isProduction) throw new Error("tally token is for development only; sessions come from the host app");
      if (!config.auth.secret) throw new Error("tally token needs SESSION_SECRET (HS256); with a JWKS the host app mints tokens");
      const { mintSessionToken } = await import("../auth/token.js");
      print(
        await mintSessionToken({
          secret: config.auth.secret,
          viewer,
          ttlSeconds,
          ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
          ...(config.auth.audience ? { audience: config.auth.audience } : {}),
        }),
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

run(process.argv[2], process.argv.slice(3)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: Error) => {
    if (err instanceof UsageError) {
      process.stderr.write(`tally: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`tally: ${err.message.split("\n")[0]}\n`);
      // Exit now: a half-open connection to an unanswering database must not keep the process alive.
      process.exit(1);
    }
  },
);
