// The unit tier (`npm run test:unit`): pure modules only — no database, no
// build, no browser, no process — so a change to one is checked in seconds.
// The tests live in tests/unit/, mirroring src/ (tests/unit/telemetry/report.test.ts
// tests src/telemetry/report.ts).
import base from "./jest.config.js";

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ["<rootDir>/tests/unit/**/*.test.ts"],
  globalSetup: undefined,
  globalTeardown: undefined,
};
