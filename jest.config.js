// jest runs the TypeScript sources as native ES modules (node --experimental-vm-modules,
// see package.json "test"), transpiled by swc; `npm run typecheck` does the type checking.
/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } }],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  globalSetup: "<rootDir>/tests/helpers/global-setup.mjs",
  globalTeardown: "<rootDir>/tests/helpers/global-teardown.mjs",
  testTimeout: 30_000,
  maxWorkers: 2,
};
