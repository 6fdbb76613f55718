import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CatalogError, loadCatalog } from "../../src/catalog/catalog.js";
import { defaultCatalog } from "../../src/catalog/default-catalog.js";
import { ConfigError, DEV_ID_SECRET, loadConfig } from "../../src/config.js";
import { randomSecret } from "../helpers/app.js";

/** Secrets production accepts (random, not in the repository's docs). */
const STRONG_ID = randomSecret();
const STRONG_SESSION = randomSecret();

describe("configuration", () => {
  test("defaults for a development machine", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      env: "development",
      port: 3000,
      host: "127.0.0.1",
      databaseUrl: undefined,
      telemetry: { enabled: true, retentionDays: 30, purgeCron: "17 3 * * *", rateLimit: 600 },
      auth: { mode: "jwt", cookieName: "session", cacheSeconds: 30, allowDevViewer: false },
      requestTimeoutMs: 10_000,
      statementTimeoutMs: 5_000,
      ingestBatching: { maxWaitMs: 2, maxRows: 500 },
    });
    expect(c.idSecret).toBe(DEV_ID_SECRET);
    expect(Object.isFrozen(c) && Object.isFrozen(c.auth)).toBe(true);
  });

  test.each([
    [{ PORT: "abc" }, /PORT/],
    [{ PORT: "70000" }, /PORT/],
    [{ TELEMETRY_ENABLED: "maybe" }, /TELEMETRY_ENABLED/],
    [{ TELEMETRY_RETENTION_DAYS: "0" }, /TELEMETRY_RETENTION_DAYS/],
    [{ TELEMETRY_PURGE_CRON: "every day" }, /TELEMETRY_PURGE_CRON/],
    [{ TELEMETRY_ID_SECRET: "not-hex" }, /TELEMETRY_ID_SECRET/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL/],
    [{ AUTH_MODE: "magic" }, /AUTH_MODE/],
    [{ SESSION_SECRET: "short" }, /SESSION_SECRET/],
    [{ SESSION_JWKS_URL: "not a url" }, /SESSION_JWKS_URL/],
    [{ AUTH_MODE: "introspect" }, /AUTH_INTROSPECT_URL/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
    [{ NODE_ENV: "staging" }, /NODE_ENV/],
    [{ TELEMETRY_RATE_LIMIT: "-1" }, /TELEMETRY_RATE_LIMIT/],
    [{ REQUEST_TIMEOUT_MS: "10" }, /REQUEST_TIMEOUT_MS/],
    [{ INGEST_BATCH_WAIT_MS: "51" }, /INGEST_BATCH_WAIT_MS/],
    [{ INGEST_BATCH_MAX_ROWS: "0" }, /INGEST_BATCH_MAX_ROWS/],
    [{ TELEMETRY_REPORT_MIN_VIEWERS: "1" }, /TELEMETRY_REPORT_MIN_VIEWERS/],
    [{ TELEMETRY_AGGREGATE_RETENTION_DAYS: "-1" }, /TELEMETRY_AGGREGATE_RETENTION_DAYS/],
    [{ METRICS_PORT: "metrics" }, /METRICS_PORT/],
    [{ METRICS_PORT: "70000" }, /METRICS_PORT/],
    [{ METRICS_PORT: "3000" }, /METRICS_PORT must differ from PORT/],
  ])("%j stops start-up with a message naming the variable", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  test.each([
    [{ AUTH_MODE: "jwt" }, "DATABASE_URL, TELEMETRY_ID_SECRET, SESSION_SECRET or SESSION_JWKS_URL"],
    [{ AUTH_MODE: "introspect" }, "DATABASE_URL, TELEMETRY_ID_SECRET, AUTH_INTROSPECT_URL"],
  ])("production refuses to start without its secrets (%j)", (env, missing) => {
    expect(() => loadConfig({ NODE_ENV: "production", ...env })).toThrow(`refusing to start in production without ${missing}`);
  });

  test("production never allows the dev viewer and never uses dev secrets", () => {
    const c = loadConfig({
      NODE_ENV: "production",
      DATABASE_URL: "postgresql://db/tally",
      TELEMETRY_ID_SECRET: STRONG_ID,
      SESSION_SECRET: STRONG_SESSION,
    });
    expect(c.auth.allowDevViewer).toBe(false);
    expect(c.idSecretIsDevDefault).toBe(false);
    expect(c.auth.secretIsDevDefault).toBe(false);
  });

  test("reports and metrics: defaults, the off switches, and a report token long enough in production", () => {
    const d = loadConfig({});
    expect(d.telemetry).toMatchObject({ aggregateRetentionDays: 400, reportMinViewers: 5 });
    expect([d.reportToken, d.metricsPort]).toEqual([undefined, undefined]);
    expect(loadConfig({ TELEMETRY_AGGREGATE_RETENTION_DAYS: "0", REPORT_TOKEN: "", METRICS_PORT: "" })).toMatchObject({
      telemetry: { aggregateRetentionDays: 0 },
      reportToken: undefined,
      metricsPort: undefined,
    });
    expect(loadConfig({ METRICS_PORT: "0" }).metricsPort).toBe(0); // any free port
    expect(loadConfig({ REPORT_TOKEN: "short" }).reportToken).toBe("short"); // development: allowed
    const production = { NODE_ENV: "production", DATABASE_URL: "postgresql://db/tally", TELEMETRY_ID_SECRET: STRONG_ID, SESSION_SECRET: STRONG_SESSION };
    expect(() => loadConfig({ ...production, REPORT_TOKEN: "Kx81nQ0vZr3mT5p" })).toThrow(/REPORT_TOKEN: expected at least 16 characters/);
    const token = randomSecret();
    expect(loadConfig({ ...production, REPORT_TOKEN: token }).reportToken).toBe(token);
  });

  test("TELEMETRY_ENABLED accepts false/0 and true/1", () => {
    expect(loadConfig({ TELEMETRY_ENABLED: "false" }).telemetry.enabled).toBe(false);
    expect(loadConfig({ TELEMETRY_ENABLED: "0" }).telemetry.enabled).toBe(false);
    expect(loadConfig({ TELEMETRY_ENABLED: "TRUE" }).telemetry.enabled).toBe(true);
    expect(loadConfig({ TELEMETRY_ENABLED: "1" }).telemetry.enabled).toBe(true);
  });
});

describe("event catalog", () => {
  const write = (content: unknown) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "tally-catalog-")), "catalog.json");
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };

  test("the default catalog is the brief's events and rates", () => {
    const c = loadCatalog();
    expect(c.names).toEqual([
      "suggestion_shown",
      "suggestion_accepted",
      "suggestion_skipped",
      "suggestion_edited",
      "suggestion_undo",
      "embeddings_opt_in",
      "embeddings_opt_out",
    ]);
    expect(c.rates.map((r) => [r.numerator, r.denominator])).toEqual([
      ["suggestion_accepted", "suggestion_shown"],
      ["suggestion_skipped", "suggestion_shown"],
      ["suggestion_edited", "suggestion_shown"],
      ["suggestion_undo", "suggestion_accepted"],
    ]);
    expect(c.has("suggestion_shown")).toBe(true);
    expect(c.has("page_view")).toBe(false);
    expect(defaultCatalog.events.every((e) => e.privacyClass in { "usage-count": 1, "preference-change": 1 })).toBe(true);
  });

  test("a catalog file replaces the default", () => {
    const c = loadCatalog(
      write({
        events: [
          { name: "export_clicked", description: "Export was used.", surface: "toolbar", privacyClass: "usage-count" },
          { name: "export_failed", description: "Export failed.", surface: "toolbar", privacyClass: "diagnostic-count" },
        ],
        rates: [{ name: "failure_rate", numerator: "export_failed", denominator: "export_clicked" }],
      }),
    );
    expect(c.names).toEqual(["export_clicked", "export_failed"]);
    expect(c.has("suggestion_shown")).toBe(false);
  });

  test.each([
    ["not JSON", "{nope", /cannot read .* as JSON/],
    ["no events", { events: [] }, /events/],
    ["a bad name", { events: [{ name: "Has Space", description: "d", surface: "s", privacyClass: "usage-count" }] }, /name/],
    ["an unknown privacy class", { events: [{ name: "a", description: "d", surface: "s", privacyClass: "secret" }] }, /privacyClass/],
    ["an extra field", { events: [{ name: "a", description: "d", surface: "s", privacyClass: "usage-count", pii: true }] }, /pii/],
    [
      "duplicate events",
      { events: [1, 2].map(() => ({ name: "a", description: "d", surface: "s", privacyClass: "usage-count" })) },
      /duplicate event a/,
    ],
    [
      "a rate over an unknown event",
      {
        events: [{ name: "a", description: "d", surface: "s", privacyClass: "usage-count" }],
        rates: [{ name: "r", numerator: "a", denominator: "b" }],
      },
      /rate r names unknown event b/,
    ],
  ])("a catalog with %s is refused", (_name, content, message) => {
    const file = write(content);
    expect(() => loadCatalog(file)).toThrow(CatalogError);
    expect(() => loadCatalog(file)).toThrow(message);
  });

  test("a missing file is refused", () => {
    expect(() => loadCatalog("/nonexistent/catalog.json")).toThrow(/TELEMETRY_CATALOG: cannot read/);
  });
});
