// The two host-app packages as a host app gets them: `npm pack` (its prepack
// builds), then `npm install` of the tarballs into an empty project. Nothing
// else may land in node_modules, and both must import (ESM and CommonJS) and
// type-check in the host's own TypeScript project.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
let work: string;
let host: string;
let tarballs: string[];

const npm = (args: string[], cwd: string) => {
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
};

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), "tally-packages-"));
  npm(["pack", "-w", "@tally/client", "-w", "@tally/proxy", "--pack-destination", work], ROOT);
  tarballs = readdirSync(work).filter((f) => f.endsWith(".tgz")).sort();
  host = path.join(work, "host");
  execFileSync("mkdir", ["-p", host]);
  writeFileSync(path.join(host, "package.json"), JSON.stringify({ name: "host", private: true, type: "module" }));
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

test("npm pack makes one tarball per package, holding only the build, package.json and README", () => {
  expect(tarballs).toEqual(["tally-client-0.1.0.tgz", "tally-proxy-0.1.0.tgz"]);
  for (const t of tarballs) {
    const files = execFileSync("tar", ["tzf", path.join(work, t)], { encoding: "utf8" }).trim().split("\n").sort();
    expect(files).toEqual([
      "package/README.md",
      "package/dist/index.cjs",
      "package/dist/index.d.cts",
      "package/dist/index.d.ts",
      "package/dist/index.js",
      "package/package.json",
    ]);
  }
});

test("the tarballs install into an empty project with nothing else in node_modules, and no install script runs", () => {
  const out = npm(["install", ...tarballs.map((t) => path.join(work, t))], host);
  expect(out).not.toMatch(/allowScripts|EBADENGINE/);
  const modules = readdirSync(path.join(host, "node_modules")).filter((d) => d !== ".package-lock.json");
  expect(modules).toEqual(["@tally"]);
  expect(readdirSync(path.join(host, "node_modules/@tally")).sort()).toEqual(["client", "proxy"]);
});

test("both import as ES modules and as CommonJS", () => {
  const esm = execFileSync(
    process.execPath,
    ["--input-type=module", "-e", `
      const { createTelemetry } = await import("@tally/client");
      const { createTelemetryProxy, expressTelemetryProxy } = await import("@tally/proxy");
      const proxy = createTelemetryProxy({ serviceUrl: undefined, log: () => {} });
      const res = await proxy(new Request("http://app/api/telemetry", { method: "POST", body: "{}" }));
      console.log(typeof createTelemetry, typeof expressTelemetryProxy, res.status);`],
    { cwd: host, encoding: "utf8" },
  );
  expect(esm.trim()).toBe("function function 503");
  const cjs = execFileSync(
    process.execPath,
    ["-e", `console.log(typeof require("@tally/client").createTelemetry, typeof require("@tally/proxy").createTelemetryProxy)`],
    { cwd: host, encoding: "utf8" },
  );
  expect(cjs.trim()).toBe("function function");
});

test("both type-check in the host's TypeScript project, event names included", () => {
  writeFileSync(
    path.join(host, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: [] },
      files: ["app.ts", "wrong.ts"],
    }),
  );
  writeFileSync(
    path.join(host, "app.ts"),
    `import { createTelemetry, type DefaultEventName } from "@tally/client";
     import { createTelemetryProxy, expressTelemetryProxy, type FetchHandler } from "@tally/proxy";
     const t = createTelemetry({ endpoint: "/api/telemetry", maxQueued: 100 });
     t.track("suggestion_accepted");
     const e: DefaultEventName = "suggestion_shown";
     t.track(e, 3);
     const custom = createTelemetry<"export_opened">();
     custom.track("export_opened");
     const n: number = t.pending + t.dropped;
     const proxy: FetchHandler = createTelemetryProxy({ serviceUrl: undefined });
     const mw = expressTelemetryProxy({ serviceUrl: "http://tally:3000", cookieNames: ["session"] });
     export { n, proxy, mw };
    `,
  );
  writeFileSync(path.join(host, "wrong.ts"), `import { createTelemetry } from "@tally/client";\ncreateTelemetry().track("suggestion_acepted");\n`);
  const r = spawnSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: host, encoding: "utf8" });
  // The only error is the misspelt event: everything else type-checks.
  const errors = r.stdout.split("\n").filter((l) => l.includes("error TS"));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^wrong\.ts\(2,.*"suggestion_acepted"/);
});

test("the emitter's size that README and the package's README state is the measured one (minified by esbuild, gzipped)", async () => {
  const { build } = await import("esbuild");
  const out = await build({ entryPoints: [path.join(ROOT, "packages/client/dist/index.js")], bundle: true, minify: true, format: "esm", write: false, logLevel: "silent" });
  const bytes = gzipSync(out.outputFiles[0]!.contents, { level: 9 }).length;
  const stated = `${(bytes / 1024).toFixed(1)} KB minified and gzipped`;
  for (const readme of ["README.md", "packages/client/README.md"]) expect({ readme, stated: readFileSync(path.join(ROOT, readme), "utf8").includes(stated) }).toEqual({ readme, stated: true });
});
