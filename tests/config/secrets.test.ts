// Production refuses secrets anyone can know — the development defaults, any
// secret the repository holds (any committed file), trivial ones
// (one repeated character, all zeros, fewer than SECRET_MIN_DISTINCT distinct
// characters) and an id secret equal to the session secret — with one line
// naming the setting and how to make one. Operator commands need only what
// they use: none needs the session secret or REPORT_TOKEN, only forget needs
// the id secret.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, DEV_ID_SECRET, DEV_SESSION_SECRET, loadConfig, SECRET_MIN_DISTINCT, unsafeSecret } from "../../src/config.js";
import { runCliAsync } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// Strong secrets made per run (one written here would be public, and refused).
const SESSION = randomBytes(32).toString("base64url");
const ID = randomBytes(32).toString("hex");
const base = { NODE_ENV: "production", DATABASE_URL: "postgresql://tally@db:5432/tally", SESSION_SECRET: SESSION, TELEMETRY_ID_SECRET: ID };

const refusal = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return null;
};

test("strong secrets start", () => {
  expect(refusal({})).toBeNull();
  expect(refusal({ REPORT_TOKEN: randomBytes(12).toString("base64url") })).toBeNull();
});

test.each([
  ["SESSION_SECRET", DEV_SESSION_SECRET, "public"],
  ["TELEMETRY_ID_SECRET", DEV_ID_SECRET, "public"],
  ["SESSION_SECRET", "a".repeat(32), "one character repeated"],
  ["TELEMETRY_ID_SECRET", "0".repeat(64), "one character repeated"],
  ["TELEMETRY_ID_SECRET", "0123".repeat(16), `fewer than ${SECRET_MIN_DISTINCT} distinct characters`],
  ["SESSION_SECRET", "abcabcabcabcabcabcabcabcabcabcabc", `fewer than ${SECRET_MIN_DISTINCT} distinct characters`],
  ["REPORT_TOKEN", "x".repeat(20), "one character repeated"],
])("production refuses %s = %p: %s", (name, value, why) => {
  const message = refusal({ [name]: value })!;
  expect(message).toContain(`refusing to start: ${name} is unsafe: `);
  expect(message).toContain(why);
  expect(message).toContain("openssl rand -hex 32");
  expect(message).not.toContain("\n");
  expect(message).not.toContain(value);
});

test("an id secret equal to the session secret is refused", () => {
  const hex = randomBytes(32).toString("hex");
  expect(refusal({ SESSION_SECRET: hex, TELEMETRY_ID_SECRET: hex })).toMatch(/TELEMETRY_ID_SECRET is unsafe: it equals SESSION_SECRET/);
});

test("development still runs with its public defaults (and says so at start)", () => {
  expect(() => loadConfig({ NODE_ENV: "development" })).not.toThrow();
});

/**
 * Every text file the repository holds (git's index: README, .env.example,
 * examples, docs, bench, tests...): whatever is committed is public.
 */
function publicFiles(): string[] {
  const listed = spawnSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  return listed.stdout
    .split("\n")
    .filter((f) => /\.(m?[jt]sx?|json|md|html|env|example|ya?ml|sh|sql|txt)$|(^|\/)(Dockerfile|run)$/.test(f) && !f.endsWith("package-lock.json"))
    .map((f) => path.join(ROOT, f));
}

test("every secret the repository shows is refused in production (the list of public secrets cannot fall behind)", () => {
  const found = new Set<string>();
  for (const file of publicFiles()) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!/secret|token|strong/i.test(line)) continue;
      // Quoted literals on a line about a secret, and .env-style assignments of one.
      for (const m of line.matchAll(/["'`]([A-Za-z0-9._~+/-]{16,})["'`]/g)) found.add(m[1]!);
      const env = /^(?:SESSION_SECRET|TELEMETRY_ID_SECRET|REPORT_TOKEN)=(\S{16,})/.exec(line.trim());
      if (env) found.add(env[1]!);
    }
  }
  // Not secrets: code (process.env.X), plain words, media types and file paths.
  const notSecret = (v: string) => /^(process|import|config)\./.test(v) || /^[A-Z0-9_]+$/.test(v) || /^[a-z]+\/[a-z.+-]+$/.test(v) || (/^[a-z_-]+$/.test(v) && !v.includes("secret")) || /^([\w.-]+\/)*[\w.-]+\.(m?[jt]sx?|json|md|sql|html|ya?ml)$/.test(v);
  for (const value of [...found]) if (notSecret(value)) found.delete(value);
  expect(found.size).toBeGreaterThan(0); // the scan is not vacuous
  expect([...found].filter((value) => unsafeSecret(value) === null)).toEqual([]);
});

describe("operator commands need only what they use", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  test("migrate, report, explain and purge run in production with DATABASE_URL alone (REPORT_TOKEN is never read)", async () => {
    const env = { NODE_ENV: "production", DATABASE_URL: db.url, REPORT_TOKEN: "short" };
    for (const args of [["migrate"], ["report", "--days", "1", "--json"], ["explain", "--json"], ["purge", "--dry-run"]]) {
      const r = await runCliAsync(args, env);
      expect([args.join(" "), r.code, r.stderr]).toEqual([args.join(" "), 0, ""]);
    }
  });

  test("forget needs the id secret and names exactly that; serve names every missing setting", async () => {
    const forget = await runCliAsync(["forget", "--viewer", "someone"], { NODE_ENV: "production", DATABASE_URL: db.url });
    expect(forget.code).toBe(1);
    expect(forget.stderr.trim()).toBe("tally: refusing to run in production without TELEMETRY_ID_SECRET");
    const serve = await runCliAsync(["serve"], { NODE_ENV: "production", DATABASE_URL: db.url });
    expect(serve.code).toBe(1);
    expect(serve.stderr.trim()).toBe("tally: refusing to start in production without TELEMETRY_ID_SECRET, SESSION_SECRET or SESSION_JWKS_URL");
  });

  test("serve refuses an unsafe secret with one line, before touching the database", async () => {
    const r = await runCliAsync(["serve"], { NODE_ENV: "production", DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none", SESSION_SECRET: DEV_SESSION_SECRET, TELEMETRY_ID_SECRET: ID });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^tally: refusing to start: SESSION_SECRET is unsafe: it is public .*openssl rand -hex 32/)]);
  });
});
