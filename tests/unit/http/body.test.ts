// src/http/body.ts readJsonBody: the ingest body's only reader — types,
// charsets, encodings and sizes, each refused with the contract's code.
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { BODY_LIMIT_BYTES } from "../../../src/contract/index.js";
import { readJsonBody } from "../../../src/http/body.js";

/** A request as readJsonBody reads it: headers and a byte stream. */
const requestOf = (body: Buffer | string, headers: Record<string, string> = { "content-type": "application/json" }) =>
  Object.assign(Readable.from(typeof body === "string" ? [Buffer.from(body)] : [body]), { headers }) as unknown as IncomingMessage;
const codeOf = (p: Promise<unknown>) => p.then(() => "ok", (e: { code?: string }) => e.code);

test("JSON (and text/plain, for sendBeacon) is parsed; an empty body is {}", async () => {
  expect(await readJsonBody(requestOf('{"event":"a","count":2}'))).toEqual({ event: "a", count: 2 });
  expect(await readJsonBody(requestOf('{"a":1}', { "content-type": "text/plain;charset=UTF-8" }))).toEqual({ a: 1 });
  expect(await readJsonBody(requestOf("", { "content-type": "application/json" }))).toEqual({});
});

test.each<[string, Buffer | string, Record<string, string>, string]>([
  ["another media type", "{}", { "content-type": "application/x-www-form-urlencoded" }, "invalid_body"],
  ["no media type", "{}", {}, "invalid_body"],
  ["a charset other than UTF-8", "{}", { "content-type": "application/json; charset=latin1" }, "invalid_body"],
  ["invalid JSON", "{nope", { "content-type": "application/json" }, "invalid_body"],
  ["an unknown encoding", "{}", { "content-type": "application/json", "content-encoding": "zstd" }, "invalid_body"],
  ["a declared length over the limit", "{}", { "content-type": "application/json", "content-length": String(BODY_LIMIT_BYTES + 1) }, "payload_too_large"],
  ["more bytes than the limit", `{"a":"${"x".repeat(BODY_LIMIT_BYTES)}"}`, { "content-type": "application/json" }, "payload_too_large"],
  ["gzip that inflates past the limit", gzipSync(`{"a":"${"x".repeat(BODY_LIMIT_BYTES * 4)}"}`), { "content-type": "application/json", "content-encoding": "gzip" }, "payload_too_large"],
])("%s: %s", async (_name, body, headers, code) => {
  expect(await codeOf(readJsonBody(requestOf(body, headers)))).toBe(code);
});

test("gzip within the limit is read", async () => {
  const body = gzipSync('{"event":"a"}');
  expect(await readJsonBody(requestOf(body, { "content-type": "application/json", "content-encoding": "gzip" }))).toEqual({ event: "a" });
});
