// Production refuses secrets anyone can know — the development defaults, any
// secret the repository shows (README, .env.example, examples), trivial ones
// (one repeated character, all zeros, fewer than SECRET_MIN_DISTINCT distinct
// characters) and an id secret equal to the session secret — with one line
// naming the setting and how to make one. Operator commands need only what
// they use: none needs the session secret or REPORT_TOKEN, only forget needs
// the id secret.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, DEV_ID_SECRET, DEV_SESSION_SECRET, loadConfig, SECRET_MIN_DISTINCT, unsafeSecret } from "../../src/config.js";
import { runCliAsync } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SESSION = "Zq3v8sK1pW0xN7cR4tY9bM2hJ6gF5dLa";
const ID = "5f0c2a9e7b14d3c68a0f91e2b7c45d3a9e8f1c2b6d7a0e4f3c1b9a8d7e6f5c4b";
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
  expect(refusal({ REPORT_TOKEN: "Kx81nQ0vZr3mT5pW" })).toBeNull();
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
  const hex = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";
  expect(refusal({ SESSION_SECRET: hex, TELEMETRY_ID_SECRET: hex })).toMatch(/TELEMETRY_ID_SECRET is unsafe: it equals SESSION_SECRET/);
});

test("development still runs with its public defaults (and says so at start)", () => {
  expect(() => loadConfig({ NODE_ENV: "development" })).not.toThrow();
});

/** Text files a reader of the repository sees: README, .env.example, the packages' READMEs, the examples. */
function publicFiles(): string[] {
  const out = ["README.md", ".env.example", "packages/client/README.md", "packages/proxy/README.md"].map((f) => path.join(ROOT, f));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name.startsWith(".next") || name === "tally-packages") continue;
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(m?[jt]sx?|json|md|html|env|ya?ml)$/.test(name)) out.push(p);
    }
  };
  walk(path.join(ROOT, "examples"));
  return out;
}

test("every secret the repository shows is refused in production (the list of public secrets cannot fall behind)", () => {
  const found = new Set<string>();
  for (const file of publicFiles()) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!/SECRET|TOKEN|secret/.test(line)) continue;
      // Quoted literals on a line about a secret, and .env-style assignments of one.
      for (const m of line.matchAll(/["'`]([A-Za-z0-9._~+/-]{16,})["'`]/g)) found.add(m[1]!);
      const env = /^(?:SESSION_SECRET|TELEMETRY_ID_SECRET|REPORT_TOKEN)=(\S{16,})/.exec(line.trim());
      if (env) found.add(env[1]!);
    }
  }
  // Not secrets: code (process.env.X), plain words and file paths.
  const notSecret = (v: string) => /^(process|import|config)\./.test(v) || /^[A-Z0-9_]+$/.test(v) || (/^[a-z_-]+$/.test(v) && !v.includes("secret")) || /^[\w.-]+\/[\w./-]+\.\w+$/.test(v);
  for (const value of [...found]) if (notSecret(value)) found.delete(value);
  expect(found.size).toBeGreaterThan(0); // the scan is not vacuous
  for (const value of found) expect({ value, unsafe: unsafeSecret(value) !== null }).toEqual({ value, unsafe: true });
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
