// ESLint (typescript-eslint, flat config), run by `npm run lint` and `npm test`.
// Besides the recommended rules, it holds the layering in place:
//
//   http/ cli/ jobs/ dashboard/ report/ metrics/ app.ts server.ts  ->  telemetry/ (the use cases)  ->  store/
//
// Only src/runtime.ts, the composition root, may open the store beside the use
// cases. The store knows nothing of requests; the contract imports nothing; the
// two host-app packages import only the contract. tests/lint/boundaries.test.ts
// shows each rule failing on a deliberate violation.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const STORE = ["**/store/*", "**/store/**"];
const ABOVE_THE_DOMAIN = ["**/http/*", "**/cli/*", "**/jobs/*", "**/dashboard/*", "**/report/*", "**/metrics/*", "**/app.js", "**/server.js", "**/runtime.js"];

const forbid = (group, message) => ["error", { patterns: [{ group, message }] }];

export default tseslint.config(
  {
    ignores: ["**/dist/**", "src/generated/**", "**/node_modules/**", "examples/next-app/**", ".data/**", "coverage/**", "bench/results/**"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "no-control-regex": "off", // control characters are what some patterns exist to refuse
    },
  },
  {
    files: ["src/http/**", "src/cli/**", "src/jobs/**", "src/dashboard/**", "src/report/**", "src/metrics/**", "src/app.ts", "src/server.ts"],
    rules: {
      "no-restricted-imports": forbid(STORE, "HTTP, CLI and scheduler reach the database only through the telemetry use cases (src/telemetry/)."),
    },
  },
  {
    files: ["src/telemetry/**"],
    rules: {
      "no-restricted-imports": forbid([...ABOVE_THE_DOMAIN, "express"], "The telemetry use cases know nothing of HTTP, the CLI or the scheduler that call them."),
    },
  },
  {
    files: ["src/store/**"],
    rules: {
      "no-restricted-imports": forbid(
        [...ABOVE_THE_DOMAIN, "**/telemetry/*", "express", "node:http"],
        "The store is the bottom layer: it never sees a request, a response or a use case.",
      ),
    },
  },
  {
    files: ["src/contract/**"],
    rules: {
      "no-restricted-imports": forbid(["*", "./*", "../*"], "The contract is bundled into the host-app packages: it imports nothing."),
    },
  },
  {
    files: ["packages/*/src/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              // Anything but ../../../src/contract/: no other file of the service, and no package at all.
              regex: "^(?!\\.\\./\\.\\./\\.\\./src/contract/index\\.js$)(\\.\\./\\.\\./\\.\\./|[^.])",
              message: "A host-app package may import only the shared contract (it has no runtime dependencies).",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["packages/client/src/**", "src/dashboard/assets/**", "src/report/assets/**", "examples/host-app/public/**"],
    languageOptions: { globals: globals.browser },
  },
);
