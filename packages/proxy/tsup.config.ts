// Bundles src/ with the shared contract (../../src/contract) into one
// self-contained ESM + CommonJS file and one .d.ts each: the package has no
// runtime dependencies.
import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  treeshake: true,
  clean: true,
  target: "es2022",
  platform: "node",
});
