// Validation with zod: what a client sent in, clean values out, every failure
// one of the contract's error codes. Nothing unvalidated gets past this file.
import { hash } from "node:crypto";
import { z } from "zod";
import type { Catalog } from "../catalog/catalog.js";
import { BATCH_MAX_ITEMS, clampCount, COUNT_MIN, IDEMPOTENCY_KEY_PATTERN, SUMMARY_MAX_DAYS } from "../contract/index.js";
import type { ErrorCode } from "../contract/index.js";
import { TelemetryError } from "./errors.js";

const DAYS_DEFAULT = 7;

export const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

/** Integer-like: 3, "3", 3.7 and "3.7" are 3; anything else is refused. */
export const integerLike = z
  .union([z.number(), z.string().trim().regex(/^[+-]?\d{1,15}(\.\d+)?$/).transform(Number)])
  .refine(Number.isFinite)
  .transform(Math.trunc);

const countSchema = integerLike.transform(clampCount);
const daysSchema = integerLike.transform((n) => clamp(n, 1, SUMMARY_MAX_DAYS));

/** One item of an ingest body, validated and clamped. */
export interface EventCount {
  event: string;
  count: number;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Builds the parser of ingest bodies for a catalog: either one item
 * `{event, count}` or a batch `{events: [{event, count}, …]}` of 1..25 items,
 * each validated and clamped exactly like a single one. Any refused item
 * refuses the whole body.
 */
export function createIngestParser(catalog: Catalog) {
  const item = ingestItemSchema(catalog);
  const parseItem = (body: unknown): EventCount => {
    if (!isPlainObject(body)) throw new TelemetryError("invalid_body");
    const parsed = item.safeParse(body);
    if (parsed.success) return { event: parsed.data.event, count: parsed.data.count ?? COUNT_MIN };
    throw new TelemetryError(firstErrorCode(parsed.error.issues));
  };
  return (body: unknown): EventCount[] => {
    if (!isPlainObject(body) || !("events" in body)) return [parseItem(body)];
    const { events, ...rest } = body;
    if (Object.keys(rest).length > 0 || !Array.isArray(events)) throw new TelemetryError("invalid_body");
    if (events.length === 0 || events.length > BATCH_MAX_ITEMS) throw new TelemetryError("invalid_body");
    return events.map(parseItem);
  };
}

/** One ingest item `{event, count?}`: the schema that validates it, and that GET /openapi.json documents. */
export function ingestItemSchema(catalog: Catalog) {
  return z.strictObject({
    event: z.enum(catalog.names as [string, ...string[]]),
    count: countSchema.optional(),
  });
}

/** An ingest body, for the OpenAPI document: one item, or a batch of 1..BATCH_MAX_ITEMS validated one by one as above. */
export function ingestBodySchema(catalog: Catalog) {
  const item = ingestItemSchema(catalog);
  return z.union([item, z.strictObject({ events: z.array(item).min(1).max(BATCH_MAX_ITEMS) })]);
}

/** GET /summary's query: `days` (integer-like, clamped to 1..30, default 7) and `series=day`. */
export const summaryQuerySchema = z.object({
  days: daysSchema.optional(),
  series: z.literal("day").optional(),
});

// When several things are wrong, the most general error wins: shape, then event, then count.
const precedence: ErrorCode[] = ["invalid_body", "invalid_event", "invalid_count"];

function firstErrorCode(issues: readonly z.core.$ZodIssue[]): ErrorCode {
  const codes = new Set<ErrorCode>(
    issues.map((i) => {
      if (i.code === "unrecognized_keys" || i.path.length === 0) return "invalid_body";
      return i.path[0] === "event" ? "invalid_event" : "invalid_count";
    }),
  );
  return precedence.find((c) => codes.has(c)) ?? "invalid_body";
}

/** `days` from a query string: default 7, integer-like, clamped to 1..30. */
export function parseDays(value: unknown): number {
  if (value === undefined) return DAYS_DEFAULT;
  const parsed = daysSchema.safeParse(value);
  if (!parsed.success) throw new TelemetryError("invalid_days");
  return parsed.data;
}

/** The Idempotency-Key header: absent is null; present it must be a plain token of 1..128 characters. */
export function parseIdempotencyKey(value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== "string" || !IDEMPOTENCY_KEY_PATTERN.test(value)) throw new TelemetryError("invalid_body");
  return value;
}

/**
 * What "the same body" means for an Idempotency-Key: the items after
 * validation and clamping, in order. `{"count":"3","event":"a"}` and
 * `{"events":[{"event":"a","count":3.2}]}` are the same body.
 */
export function bodyFingerprint(items: readonly EventCount[]): string {
  return hash("sha256", JSON.stringify(items.map((i) => [i.event, i.count]))).slice(0, 32);
}
