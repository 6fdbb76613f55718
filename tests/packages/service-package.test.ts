// The service as an operator installs it from its tarball (`npm pack` of the
// repository root; `npm test` has built dist/ already, so it packs without
// rebuilding under the other test files' feet): no install script runs, no
// runtime dependency warns about the Node version, and the installed `tally`
// command works against a real PostgreSQL.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let work: string;
let app: string;
let installLog: string;
let db: TestDatabase;

beforeAll(async () => {
  db = await createEmptyDatabase();
  work = mkdtempSync(path.join(tmpdir(), "tally-service-package-"));
  const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", work, "--loglevel=error"], { cwd: ROOT, encoding: "utf8" });
  if (pack.status !== 0) throw new Error(pack.stderr);
  app = path.join(work, "ops");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "ops", private: true }));
  // --omit=optional: the embedded PostgreSQL (development only) is 150 MB the operator does not need.
  const install = spawnSync(
    "npm",
    ["install", path.join(work, "tally-0.1.0.tgz"), "--omit=optional", "--prefer-offline", "--no-audit", "--no-fund"],
    { cwd: app, encoding: "utf8", timeout: 180_000 },
  );
  installLog = install.stdout + install.stderr;
  if (install.status !== 0) throw new Error(`npm install failed:\n${installLog}`);
}, 200_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await db?.drop();
});

test("the tarball ships the build, the migrations and the dashboard assets, not tests, bench, docs or Docker files", () => {
  const files = execFileSync("tar", ["tzf", path.join(work, "tally-0.1.0.tgz")], { encoding: "utf8" }).split("\n");
  expect(files).toContain("package/dist/cli/main.js");
  expect(files.some((f) => f.startsWith("package/dist/generated/prisma/"))).toBe(true);
  expect(files.some((f) => f.startsWith("package/prisma/migrations/"))).toBe(true);
  expect(files).toContain("package/src/dashboard/assets/dashboard.js");
  expect(files).toContain("package/LICENSE"); // the MIT terms package.json names
  for (const banned of ["package/tests/", "package/bench/", "package/docs/", "package/Dockerfile", "package/packages/", "package/src/auth/"]) {
    expect(files.filter((f) => f.startsWith(banned))).toEqual([]);
  }
  expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
});

test("installing it runs no install script and no runtime dependency asks for another Node", () => {
  expect(installLog).not.toMatch(/install-scripts|allowScripts|prepare|postinstall/);
  expect(installLog).not.toMatch(/EBADENGINE/);
  expect(readdirSync(path.join(app, "node_modules"))).not.toContain("prisma"); // the CLI is a dev tool
});

test("the installed tally command migrates and explains against PostgreSQL", () => {
  const env = { PATH: process.env.PATH ?? "", NODE_ENV: "test", DATABASE_URL: db.url, LOG_LEVEL: "warn" };
  const bin = path.join(app, "node_modules/.bin/tally");
  const migrate = spawnSync(bin, ["migrate"], { env, encoding: "utf8" });
  expect(migrate.stderr).toBe("");
  expect(migrate.status).toBe(0);
  expect(migrate.stdout).toMatch(/^applied \d+ migration/);
  const explain = spawnSync(bin, ["explain", "--json"], { env, encoding: "utf8" });
  expect(explain.status).toBe(0);
  expect(JSON.parse(explain.stdout)).toMatchObject({ service: "tally", storeReachable: true });
});
