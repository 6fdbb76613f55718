// Builds the real app in-process (createApp with the real config, catalog,
// sessions, use cases and store) on a test database, with its log lines
// captured for assertions.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import request from "supertest";
import type { RequestListener } from "node:http";
import { createApp } from "../../src/app.js";
import { createOperations, type Operations } from "../../src/runtime.js";
import { createViewerResolver } from "../../src/auth/session.js";
import { mintSessionToken } from "../../src/auth/token.js";
import { loadCatalog } from "../../src/catalog/catalog.js";
import { loadConfig, type Config } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { openStore, type Store } from "../../src/store/connection.js";
import { createViewerHasher, type Hasher } from "../../src/telemetry/identity.js";
import type { RandomInt } from "../../src/telemetry/noise.js";
import { createTelemetryService, type TelemetryService } from "../../src/telemetry/service.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

// Made per test file: any secret written in the repository is public, and
// production (which several tests start) refuses public secrets.
/** A strong secret or token made for this run (one written in a test would be public, and refused in production). */
export const randomSecret = (): string => randomBytes(32).toString("hex");
export const TEST_SESSION_SECRET = randomSecret();
export const TEST_ID_SECRET = randomSecret();

export interface TestApp {
  /** The whole HTTP surface (createApp): hot routes without Express, the rest through it. */
  app: RequestListener;
  config: Config;
  store: Store;
  telemetry: TelemetryService;
  /** Readiness, the pool's figures, tick claims (the composition root's, over this app's store). */
  operations: Operations;
  /** The stored (hashed) viewer id of a session's viewer id. */
  hash: Hasher;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  close(): Promise<void>;
}

/** `random`: the source of the report's noise (a seeded one in tests of it). */
export function buildTestApp(databaseUrl: string, env: Record<string, string> = {}, opts: { random?: RandomInt } = {}): TestApp {
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: TEST_SESSION_SECRET,
    TELEMETRY_ID_SECRET: TEST_ID_SECRET,
    LOG_LEVEL: "info",
    // The tests' own shortcut (x-dev-viewer); production refuses it, so it is not set there.
    ...(env.NODE_ENV === "production" ? {} : { TALLY_DEV_VIEWER: "true" }),
    ...env,
  });
  const rawLogs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      rawLogs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      cb();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const store = openStore({ databaseUrl, poolSize: 4, statementTimeoutMs: config.statementTimeoutMs, logger });
  const telemetry = createTelemetryService({ store, config, catalog: loadCatalog(config.telemetry.catalogFile), logger, ...opts });
  const operations = createOperations(store, logger);
  const app = createApp({ config, telemetry, ready: operations.ready, resolveViewer: createViewerResolver(config), logger });
  return {
    app,
    config,
    store,
    telemetry,
    operations,
    hash: createViewerHasher(config.idSecret),
    rawLogs,
    get logs() {
      return rawLogs.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    close: async () => {
      await telemetry.close();
      await store.close();
    },
  };
}

let counter = 0;
/** A viewer id unique to this test run, so tests never share data. */
export function newViewer(label = "viewer"): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export function tokenFor(viewer: string, opts: { ttlSeconds?: number; secret?: string; issuer?: string; audience?: string } = {}) {
  return mintSessionToken({ secret: opts.secret ?? TEST_SESSION_SECRET, viewer, ...opts });
}

export async function bearer(viewer: string): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await tokenFor(viewer)}` };
}

/** A session binding for `viewer`, as the emitter gets it (GET /binding). */
export async function bindingFor(app: TestApp, viewer: string): Promise<string> {
  const res = await request(app.app).get("/binding").set(await bearer(viewer));
  if (res.status !== 200) throw new Error(`GET /binding answered ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.binding as string;
}

/**
 * POST /ingest to `app` as `viewer` (a bearer session). A string body is sent
 * as it is, anything else as JSON; `headers` adds to or replaces the defaults
 * (content-type application/json).
 */
export async function postIngest(app: TestApp, viewer: string, body: unknown, headers: Record<string, string> = {}) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  return request(app.app)
    .post("/ingest")
    .set(await bearer(viewer))
    .set({ "content-type": "application/json", ...headers })
    .send(raw);
}

/**
 * One test database for the file, and as many apps on it as its tests build
 * (each with its own settings), all closed after the file.
 */
export function useTestApps(): { db: () => TestDatabase; app: (env?: Record<string, string>) => TestApp } {
  let db: TestDatabase | undefined;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await db?.drop();
  });
  const database = () => db!;
  return {
    db: database,
    app(env = {}) {
      const a = buildTestApp(database().url, env);
      apps.push(a);
      return a;
    },
  };
}

/**
 * The usual test-file setup: a fresh migrated database and the app on it,
 * made before the file's tests and removed after them. `use` receives both.
 */
export function useTestApp(use: (db: TestDatabase, t: TestApp) => void, env: Record<string, string> = {}): void {
  let db: TestDatabase | undefined;
  let t: TestApp | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    t = buildTestApp(db.url, env);
    use(db, t);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });
}
