import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jwtVerify } from "jose";
import { createViewerHasher } from "../../src/telemetry/identity.js";
import { readMigrations } from "../../src/store/migrate.js";
import { TEST_ID_SECRET, TEST_SESSION_SECRET } from "../helpers/app.js";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { countRows, createTestDatabase, seedRows, type TestDatabase } from "../helpers/database.js";

const DAY = 24 * 3600_000;
let db: TestDatabase;
let env: Record<string, string>;
const hash = createViewerHasher(TEST_ID_SECRET);

beforeAll(async () => {
  db = await createTestDatabase();
  env = { DATABASE_URL: db.url, TELEMETRY_ID_SECRET: TEST_ID_SECRET, SESSION_SECRET: TEST_SESSION_SECRET };
});
afterAll(() => db.drop());

describe("exit codes", () => {
  test("no command: usage on stderr, exit 2", () => {
    const r = runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/^usage: tally <command>/m);
  });

  test.each([
    [["bogus"], /unknown command: bogus/],
    [["purge", "--days", "abc"], /--days takes a whole number/],
    [["purge", "--days", "0"], /--days takes a whole number/],
    [["purge", "--nope"], /Unknown option '--nope'/],
    [["forget"], /--viewer is required/],
    [["forget", "--viewer"], /argument missing|--viewer/],
    [["token"], /--viewer is required/],
    [["explain", "extra"], /unexpected argument: extra/],
  ])("%j is bad usage: exit 2 with a reason and the usage line", (args, reason) => {
    const r = runCli(args as string[], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toMatch(/usage: tally/);
  });

  test("help exits 0", () => {
    expect(runCli(["help"]).code).toBe(0);
  });

  test("a failure exits 1 with one line naming the cause", () => {
    const r = runCli(["migrate"], { ...env, PORT: "not-a-port" });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/PORT/);
  });

  test("production without secrets refuses to start, naming what is missing", () => {
    const r = runCli(["serve"], { NODE_ENV: "production", DATABASE_URL: db.url });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "tally: refusing to start in production without TELEMETRY_ID_SECRET, SESSION_SECRET or SESSION_JWKS_URL",
    );
  });

  test("a bad catalog file stops start-up with a clear message", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "tally-cat-")), "catalog.json");
    writeFileSync(file, JSON.stringify({ events: [{ name: "Bad Name", description: "x", surface: "y", privacyClass: "usage-count" }] }));
    const r = runCli(["explain"], { ...env, TELEMETRY_CATALOG: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid TELEMETRY_CATALOG file .*events\.0\.name/);
  });
});

describe("commands", () => {
  test("migrate on a migrated database applies nothing", () => {
    const r = runCli(["migrate"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`applied 0 migrations; ${readMigrations().length} already applied`);
  });

  test("purge --dry-run deletes nothing; purge deletes exactly the expired rows", async () => {
    const viewer = hash("purge-cli-viewer");
    await seedRows(db, viewer, "suggestion_shown", new Date(Date.now() - 45 * DAY), 4);
    await seedRows(db, viewer, "suggestion_shown", new Date(Date.now() - 2 * DAY), 3);

    const dry = await runCliAsync(["purge", "--dry-run", "--json"], env);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, rows: 4, retentionDays: 30 });
    expect(await countRows(db, { viewerId: viewer })).toBe(7);

    const text = await runCliAsync(["purge", "--dry-run", "--days", "1"], env);
    expect(text.stdout).toMatch(/^would delete 7 rows created before \d{4}-\d\d-\d\dT/);

    const real = await runCliAsync(["purge"], env);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^deleted 4 rows created before/);
    expect(await countRows(db, { viewerId: viewer })).toBe(3);
  });

  test("forget --viewer erases that viewer's rows (hashed the same way as the service)", async () => {
    await seedRows(db, hash("forget-me"), "suggestion_accepted", new Date(), 5);
    await seedRows(db, hash("keep-me"), "suggestion_accepted", new Date(), 2);
    const dry = await runCliAsync(["forget", "--viewer", "forget-me", "--dry-run"], env);
    expect(dry.stdout.trim()).toMatch(/^would delete 5 rows of counts and everything else stored for that viewer \(id secret [0-9a-f]{8}\)$/);
    expect(await countRows(db, { viewerId: hash("forget-me") })).toBe(5);
    const real = await runCliAsync(["forget", "--viewer", "forget-me", "--json"], env);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, rows: 5, matched: true });
    expect(await countRows(db, { viewerId: hash("forget-me") })).toBe(0);
    expect(await countRows(db, { viewerId: hash("keep-me") })).toBe(2);
  });

  test("explain --json is the live manifest; explain prints it for people", async () => {
    const json = await runCliAsync(["explain", "--json"], env);
    expect(json.code).toBe(0);
    const manifest = JSON.parse(json.stdout);
    expect(manifest.events.map((e: { name: string }) => e.name)).toContain("suggestion_accepted");
    expect(manifest.neverCollected).toContain("IP addresses");
    expect(manifest.retention.days).toBe(30);
    const text = await runCliAsync(["explain"], { ...env, TELEMETRY_RETENTION_DAYS: "14" });
    expect(text.stdout).toMatch(/Retention: 14 days/);
    expect(text.stdout).toMatch(/Never collected, never logged:/);
    // The text leaves out nothing --json lists: every table, event and never-collected item.
    const tables = new Set<string>();
    JSON.stringify(manifest, (key, value: unknown) => {
      if (key === "table" && typeof value === "string") tables.add(value);
      return value;
    });
    expect(tables.size).toBeGreaterThanOrEqual(5);
    for (const table of tables) expect({ table, inText: text.stdout.includes(table) }).toEqual({ table, inText: true });
    for (const e of manifest.events as { name: string }[]) expect(text.stdout).toContain(e.name);
    for (const item of manifest.neverCollected as string[]) expect(text.stdout).toContain(item);
  });

  test("token mints a session JWT for the given viewer (development only)", async () => {
    const r = runCli(["token", "--viewer", "alice", "--ttl", "120"], env);
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(TEST_SESSION_SECRET));
    expect(payload.sub).toBe("alice");
    expect(payload.exp! - payload.iat!).toBe(120);
    const prod = runCli(["token", "--viewer", "alice"], { ...env, NODE_ENV: "production" });
    expect(prod.code).toBe(1);
    expect(prod.stderr).toMatch(/development only/);
  });
});
