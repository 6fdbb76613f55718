// The layering is enforced, not just described: ESLint's import-boundary rules
// (eslint.config.js) refuse each deliberate violation below, and let the
// allowed imports through. `npm test` also lints the whole tree.
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

/** The boundary messages ESLint reports for `code` placed at `file`. */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${file}` });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

test.each([
  ["src/http/violation.ts", 'import { openStore } from "../store/connection.js";\nexport { openStore };', /only through the telemetry use cases/],
  ["src/cli/violation.ts", 'import { ping } from "../store/retention.js";\nexport { ping };', /only through the telemetry use cases/],
  ["src/jobs/violation.ts", 'import type { Store } from "../store/connection.js";\nexport type { Store };', /only through the telemetry use cases/],
  ["src/telemetry/violation.ts", 'import { writeReply } from "../http/reply.js";\nexport { writeReply };', /know nothing of HTTP/],
  ["src/telemetry/violation.ts", 'import express from "express";\nexport { express };', /know nothing of HTTP/],
  ["src/store/violation.ts", 'import { TelemetryError } from "../telemetry/errors.js";\nexport { TelemetryError };', /bottom layer/],
  ["src/store/violation.ts", 'import type { IncomingMessage } from "node:http";\nexport type { IncomingMessage };', /bottom layer/],
  ["src/contract/violation.ts", 'import { z } from "zod";\nexport { z };', /imports nothing/],
  ["packages/client/src/violation.ts", 'import { loadConfig } from "../../../src/config.js";\nexport { loadConfig };', /only the shared contract/],
  ["packages/proxy/src/violation.ts", 'import express from "express";\nexport { express };', /only the shared contract/],
])("%s: %s is refused", async (file, code, message) => {
  const errors = await boundaryErrors(file, code);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
});

test.each([
  ["src/http/allowed.ts", 'import { TelemetryError } from "../telemetry/errors.js";\nexport { TelemetryError };'],
  ["src/telemetry/allowed.ts", 'import { ping } from "../store/retention.js";\nexport { ping };'],
  ["src/runtime-allowed.ts", 'import { openStore } from "./store/connection.js";\nexport { openStore };'],
  ["packages/proxy/src/allowed.ts", 'import { REQUEST_ID_PATTERN } from "../../../src/contract/index.js";\nexport { REQUEST_ID_PATTERN };'],
])("%s may import what its layer uses", async (file, code) => {
  expect(await boundaryErrors(file, code)).toEqual([]);
});
