// Docker Compose works as written. No Docker engine runs here, so what can be
// tested is tested: `docker-compose config` (Compose v1, as on this machine
// and in CI) resolves docker-compose.yml with `.env.example` as shipped plus
// the two secrets, and tally's own configuration loader accepts the tally
// service's resolved environment — with every setting README documents
// reaching the container (an inline comment or a forgotten variable would
// show). And README's configuration table, .env.example, the compose file and
// the configuration schema name exactly the same settings.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
// Strong secrets made per run (one written here would be public, and refused).
const SECRETS = `SESSION_SECRET=${randomBytes(32).toString("hex")}\nTELEMETRY_ID_SECRET=${randomBytes(32).toString("hex")}\n`;

/** docker-compose (v1), installed with apt-get when missing, as the browser tests install Chromium. */
function compose(): string {
  const which = spawnSync("sh", ["-c", "command -v docker-compose"], { encoding: "utf8" });
  if (which.status === 0) return which.stdout.trim();
  execFileSync("sh", ["-c", "apt-get update -qq && apt-get install -y -qq docker-compose"], { stdio: "inherit", timeout: 600_000 });
  return "docker-compose";
}

/** The tally service as `docker-compose config` resolves it with this .env. */
function resolved(dotenv: string): { environment: Record<string, string>; ports: unknown[] } {
  const dir = mkdtempSync(path.join(tmpdir(), "tally-compose-"));
  try {
    for (const file of ["docker-compose.yml", "docker-compose.metrics.yml"]) copyFileSync(path.join(ROOT, file), path.join(dir, file));
    writeFileSync(path.join(dir, ".env"), dotenv);
    const r = spawnSync(compose(), ["config"], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
    return (parse(r.stdout) as { services: { tally: { environment: Record<string, string>; ports: unknown[] } } }).services.tally;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("README's configuration table, .env.example, docker-compose.yml and the configuration schema name the same settings", () => {
  const readme = read("README.md");
  const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("### Event catalog"));
  const documented = sorted([...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!));
  const example = sorted([...read(".env.example").matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!).filter((v) => v !== "POSTGRES_PASSWORD"));
  const composed = sorted(Object.keys((parse(read("docker-compose.yml")) as { services: { tally: { environment: Record<string, string> } } }).services.tally.environment));
  const schema = sorted(CONFIG_VARIABLES);
  expect(documented).toEqual(schema);
  expect(example).toEqual(schema);
  expect(composed).toEqual(schema);
});

test(".env.example has no inline comments (Compose v1 would read them as values)", () => {
  const valued = read(".env.example").split("\n").filter((l) => /^[A-Z_]+=/.test(l));
  expect(valued.length).toBeGreaterThan(30);
  for (const line of valued) expect(line).not.toMatch(/\s#/);
});

test("the resolved environment of .env.example plus the two secrets loads: production, every setting as written", () => {
  const { environment, ports } = resolved(read(".env.example") + SECRETS);
  const config = loadConfig(environment);
  expect(config.isProduction).toBe(true);
  expect(config.databaseUrl).toBe("postgresql://tally:tally@db:5432/tally");
  expect(config.telemetry.purgeCron).toBe("17 3 * * *");
  expect(config.host).toBe("0.0.0.0");
  expect(config.metricsPort).toBeUndefined();
  expect(sorted(Object.keys(environment))).toEqual(sorted(CONFIG_VARIABLES));
  expect(ports).toHaveLength(1); // the service's port; metrics are not published unless asked for
  expect(JSON.stringify(ports)).toMatch(/"target":"?3000"?/);
});

test("settings set in .env reach the container: the report token, metrics on a chosen port (published on loopback), ε", () => {
  const token = randomBytes(24).toString("hex");
  // METRICS_PORT set, and the COMPOSE_FILE line .env.example shows uncommented.
  const example = read(".env.example").replaceAll("#COMPOSE_", "COMPOSE_");
  const dotenv = `${example}${SECRETS}REPORT_TOKEN=${token}\nMETRICS_PORT=9500\nTELEMETRY_REPORT_EPSILON=0.5\nPORT=8080\n`;
  const { environment, ports } = resolved(dotenv);
  const config = loadConfig(environment);
  expect(config.reportToken).toBe(token);
  expect([config.metricsPort, config.metricsHost]).toEqual([9500, "0.0.0.0"]);
  expect(config.telemetry.reportEpsilon).toEqual({ p: 1, q: 2 });
  expect(config.port).toBe(3000); // inside the container; published on the host's 8080
  expect(JSON.stringify(ports)).toContain("127.0.0.1:9500:9500");
  expect(JSON.stringify(ports)).toMatch(/"published":"?8080"?/);
});

test("docker-compose.metrics.yml without METRICS_PORT stops with a message naming it, instead of publishing nothing useful", () => {
  const example = read(".env.example").replaceAll("#COMPOSE_", "COMPOSE_");
  expect(() => resolved(example + SECRETS)).toThrow(/set METRICS_PORT in \.env to publish metrics/);
});
