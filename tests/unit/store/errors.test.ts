// src/store/errors.ts: what a database failure means, read from pg's or
// Prisma's error (however wrapped), never from its English message alone.
import { classifyStoreError, isMissingPartition, postgresError } from "../../../src/store/errors.js";

test("classification: Node's and Prisma's codes are not read as SQLSTATEs", () => {
  expect(classifyStoreError(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "P1001", message: "Can't reach database server" }).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "P2024", message: "Timed out fetching a new connection" }).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "P2034", message: "Transaction failed due to a write conflict" }).kind).toBe("transient");
  expect(classifyStoreError({ code: "57P01", severity: "FATAL", message: "terminating connection" }).kind).toBe("unavailable");
  expect(classifyStoreError({ code: "40P01", severity: "ERROR", message: "deadlock detected" }).kind).toBe("transient");
  expect(classifyStoreError({ code: "42883", severity: "ERROR", message: "function x() does not exist" }).kind).toBe("other");
  expect(classifyStoreError(new TypeError("x is undefined")).kind).toBe("other");
});

test("postgresError finds PostgreSQL's own error (SQLSTATE and table) inside wrappers, and nothing in others", () => {
  const pgError = { code: "23514", severity: "ERROR", table: "telemetry_event", message: "keine Partition gefunden" };
  expect(postgresError(pgError)).toEqual({ code: "23514", table: "telemetry_event" });
  expect(postgresError(new Error("wrapped", { cause: pgError }))).toEqual({ code: "23514", table: "telemetry_event" });
  expect(postgresError(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))).toBeUndefined();
  expect(postgresError({ code: "P2034", message: "Transaction failed due to a write conflict" })).toBeUndefined();
});

test("a missing day partition is recognised by SQLSTATE and table, and without a table (PostgreSQL 14 names none)", () => {
  expect(isMissingPartition({ code: "23514", table: "telemetry_event" })).toBe(true); // PostgreSQL 15+
  expect(isMissingPartition(postgresError({ code: "23514", severity: "ERROR", message: "no partition of relation found for row" }))).toBe(true); // 14
  expect(isMissingPartition({ code: "23514", table: "telemetry_daily" })).toBe(false); // another table's check
  expect(isMissingPartition({ code: "23505", table: "telemetry_event" })).toBe(false);
  expect(isMissingPartition(undefined)).toBe(false);
});
