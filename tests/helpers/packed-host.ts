// The two host-app packages as a host app gets them — `npm pack`, then `npm
// install` of the tarballs into an empty project — and the small node:http
// host app of tests/fixtures/packed-host/ running on them, proxying to tally.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startProcess, type Proc } from "./processes.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function npm(args: string[], cwd: string): void {
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
}

export interface PackedHost {
  dir: string;
  start(tallyUrl: string, sessionSecret: string): Promise<Proc>;
  remove(): void;
}

/** Packs the packages and installs them into a fresh project holding the fixture host app. */
export function preparePackedHost(): PackedHost {
  const dir = mkdtempSync(path.join(tmpdir(), "tally-packed-host-"));
  npm(["pack", "-w", "@tally/client", "-w", "@tally/proxy", "--pack-destination", dir], ROOT);
  const tarballs = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "packed-host", private: true, type: "module" }));
  npm(["install", ...tarballs.map((t) => path.join(dir, t))], dir);
  copyFileSync(path.join(ROOT, "tests/fixtures/packed-host/server.mjs"), path.join(dir, "server.mjs"));
  return {
    dir,
    start: (tallyUrl, sessionSecret) =>
      startProcess([path.join(dir, "server.mjs")], { PATH: process.env.PATH ?? "", TALLY_URL: tallyUrl, SESSION_SECRET: sessionSecret }, (out) => {
        const port = /host app listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
        return port ? Number(port) : undefined;
      }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
