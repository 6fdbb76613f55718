// GET /openapi.json: the HTTP contract as an OpenAPI 3.1 document, generated
// with zod 4's JSON Schema output from the schemas that validate requests
// (src/telemetry/validation.ts, src/telemetry/report.ts) and the response
// schemas below. tests/http/openapi.test.ts validates real responses of every
// route against it, so the document cannot drift from what is served.
import { z } from "zod";
import type { Catalog } from "../catalog/catalog.js";
import {
  BINDING_HEADER,
  BINDING_PATTERN,
  ERROR_STATUS,
  IDEMPOTENCY_KEY_PATTERN,
  KEY_WINDOW_MS,
  REPORT_MAX_DAYS,
  SUMMARY_MAX_DAYS,
  type ErrorCode,
} from "../contract/index.js";
import { reportQuerySchema } from "../telemetry/report.js";
import { ingestBodySchema, summaryQuerySchema } from "../telemetry/validation.js";

const nonNegative = z.number().int().min(0);

/** The body of every error: the contract's code, nothing else. */
const errorBody = (codes: readonly ErrorCode[]) => z.strictObject({ ok: z.literal(false), error: z.enum(codes as [ErrorCode, ...ErrorCode[]]) });

export function responseSchemas(catalog: Catalog) {
  const perEvent = <T extends z.ZodType>(value: T) => z.strictObject(Object.fromEntries(catalog.names.map((n) => [n, value])) as Record<string, T>);
  const perRate = <T extends z.ZodType>(value: T) => z.strictObject(Object.fromEntries(catalog.rates.map((r) => [r.name, value])) as Record<string, T>);
  const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
  return {
    ok: z.strictObject({ ok: z.literal(true) }),
    ingest: z.strictObject({ ok: z.literal(true), stored: nonNegative }),
    binding: z.strictObject({ ok: z.literal(true), binding: z.string().regex(BINDING_PATTERN) }),
    summary: z.strictObject({
      ok: z.literal(true),
      days: z.number().int().min(1).max(SUMMARY_MAX_DAYS),
      counts: perEvent(nonNegative),
      series: z.strictObject({ days: z.array(isoDay), counts: perEvent(z.array(nonNegative)) }).optional(),
    }),
    erased: z.strictObject({ ok: z.literal(true), deleted: nonNegative }),
    report: z.strictObject({
      ok: z.literal(true),
      from: isoDay,
      to: isoDay,
      minViewers: z.number().int().min(2),
      maxPerViewer: z.number().int().min(1),
      epsilon: z.number().positive().nullable(),
      events: perEvent(
        z.strictObject({ count: nonNegative.nullable(), viewerDays: nonNegative.nullable(), daysShown: nonNegative, daysSuppressed: nonNegative }),
      ),
      rates: perRate(z.number().min(0).nullable()),
      suppressedRates: z.array(z.string()),
      series: z.strictObject({
        days: z.array(isoDay).min(1),
        counts: perEvent(z.array(nonNegative.nullable())),
        viewers: perEvent(z.array(nonNegative.nullable())),
      }),
      inProgress: z.array(isoDay),
      noData: z.array(isoDay),
    }),
    explain: z.looseObject({
      ok: z.literal(true),
      service: z.literal("tally"),
      telemetryEnabled: z.boolean(),
      retention: z.strictObject({ days: z.number().int(), purgeSchedule: z.string() }),
      viewerData: z.array(z.strictObject({ table: z.string(), columns: z.array(z.string()), retention: z.string() })),
      keptThroughErasure: z.array(z.strictObject({ table: z.string(), columns: z.array(z.string()), why: z.string(), retention: z.string() })),
      aggregates: z.looseObject({ table: z.literal("telemetry_aggregate"), minViewers: z.number().int(), retention: z.string(), viewerId: z.literal(false) }),
      events: z.array(z.looseObject({ name: z.string(), description: z.string(), privacyClass: z.string() })),
      rates: z.array(z.strictObject({ name: z.string(), numerator: z.string(), denominator: z.string() })),
      neverCollected: z.array(z.string()),
      storeReachable: z.boolean(),
      lastPurge: z.strictObject({ day: isoDay }).nullable(),
    }),
  };
}

type Json = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType, io: "input" | "output" = "output"): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
};

const json = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema: jsonSchema(schema) } } });

/**
 * One response per status the route can answer with an error: the shared
 * Error shape (components.schemas.Error, one type in a generated client),
 * narrowed to the codes this route answers with at this status.
 */
function errors(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: list.join(", "),
        content: { "application/json": { schema: { allOf: [{ $ref: "#/components/schemas/Error" }, { type: "object", properties: { error: { enum: list } } }] } } },
      },
    ]),
  );
}

/** Query parameters from a zod object (each property's input schema). */
function queryParameters(schema: z.ZodObject, descriptions: Record<string, string>) {
  return Object.entries(schema.shape).map(([name, s]) => ({
    name,
    in: "query",
    required: false,
    description: descriptions[name],
    schema: jsonSchema((s as z.ZodOptional<z.ZodType>).unwrap(), "input"),
  }));
}

const ALWAYS: ErrorCode[] = ["internal", "request_timeout"];
const SESSION: ErrorCode[] = ["no_viewer", "auth_unavailable"];
const requestId = {
  name: "X-Request-Id",
  in: "header",
  required: false,
  description: "Echoed back if it is a UUID or a W3C trace id; otherwise a new UUID is answered.",
  schema: { type: "string" },
};
const session = [{ bearerSession: [] }, { sessionCookie: [] }];

/** An operation anyone may call: no session, no token (OpenAPI says so with an empty security list). */
const PUBLIC: never[] = [];

/**
 * The document for this catalog (events and rates are part of the schemas).
 * `reportEnabled`: REPORT_TOKEN is set. Every operation has an operationId
 * (what client generators name their functions after); tests/http/openapi.test.ts
 * lints it with Redocly's recommended rules.
 */
export function buildOpenApi(catalog: Catalog, opts: { version: string; license: string; cookieName: string; reportEnabled: boolean }): Json {
  const r = responseSchemas(catalog);
  const paths: Json = {
    "/ingest": {
      post: {
        operationId: "recordCounts",
        summary: "Store counts for the session's viewer",
        description: "One item or a batch; counts are clamped. Answered after commit. Writes from another site are refused.",
        security: session,
        parameters: [
          requestId,
          { name: "Idempotency-Key", in: "header", required: false, description: `A retry with the same key and body stores nothing again (${KEY_WINDOW_MS / 3_600_000} h).`, schema: { type: "string", pattern: IDEMPOTENCY_KEY_PATTERN.source } },
          {
            name: "Tally-Binding",
            in: "header",
            required: false,
            description: `The session binding (GET /binding) the counts were tracked under. Another viewer's, or older than 24 h: 409 session_mismatch; issued before the viewer's last erasure: 410 erased. Header name: ${BINDING_HEADER}.`,
            schema: { type: "string", pattern: BINDING_PATTERN.source },
          },
        ],
        requestBody: { required: true, content: { "application/json": { schema: jsonSchema(ingestBodySchema(catalog), "input") } } },
        responses: {
          "200": json(r.ingest, "Stored (or replayed: header Idempotent-Replayed: true)"),
          ...errors([
            "invalid_body",
            "invalid_event",
            "invalid_count",
            ...SESSION,
            "cross_site",
            "telemetry_disabled",
            "session_mismatch",
            "erased",
            "payload_too_large",
            "idempotency_key_reused",
            "rate_limited",
            "store_unavailable",
            ...ALWAYS,
          ]),
        },
      },
    },
    "/binding": {
      get: {
        operationId: "issueBinding",
        summary: "A session binding for the counts the emitter tracks under this session",
        description: "Names nobody: an issue time, a nonce and a MAC over the session's viewer. Sent back with each count in the Tally-Binding header, it lets tally refuse a count tracked under another viewer's session (a shared browser) or before an erasure.",
        security: session,
        parameters: [requestId],
        responses: { "200": json(r.binding, "The binding"), ...errors([...SESSION, "telemetry_disabled", "store_unavailable", ...ALWAYS]) },
      },
    },
    "/summary": {
      get: {
        operationId: "getSummary",
        summary: "The session viewer's own counts",
        security: session,
        parameters: [requestId, ...queryParameters(summaryQuerySchema, { days: "Window in days: integer-like, clamped to 1..30 (default 7).", series: "`day`: add per-UTC-day counts." })],
        responses: {
          "200": json(r.summary, "Every catalog event, zero-filled"),
          ...errors(["invalid_days", ...SESSION, "telemetry_disabled", "store_unavailable", ...ALWAYS]),
        },
      },
    },
    "/me": {
      delete: {
        operationId: "eraseMe",
        summary: "Erase everything stored for the session's viewer",
        description: "Works with telemetry switched off. Leaves a tombstone (25 h): a count whose binding was issued before the erasure is refused (410 erased).",
        security: session,
        parameters: [requestId],
        responses: { "200": json(r.erased, "Rows erased"), ...errors([...SESSION, "cross_site", "store_unavailable", ...ALWAYS]) },
      },
    },
    "/healthz": { get: { operationId: "getLiveness", summary: "Liveness", security: PUBLIC, responses: { "200": json(r.ok, "The process answers"), ...errors(ALWAYS) } } },
    "/readyz": {
      get: { operationId: "getReadiness", summary: "Readiness: the database answers", security: PUBLIC, responses: { "200": json(r.ok, "Ready"), ...errors(["store_unavailable", ...ALWAYS]) } },
    },
    "/explain": {
      get: {
        operationId: "getPrivacyManifest",
        summary: "What tally collects, keeps and never collects (the privacy manifest)",
        security: PUBLIC,
        responses: { "200": json(r.explain, "The manifest"), ...errors(ALWAYS) },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApiDocument",
        summary: "This document",
        security: PUBLIC,
        responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } }, ...errors(ALWAYS) },
      },
    },
  };
  if (opts.reportEnabled) {
    paths["/report"] = {
      get: {
        operationId: "getReport",
        summary: "Counts across all viewers, k-anonymous",
        description:
          "Cells (closed UTC day × event) resting on fewer than `minViewers` distinct viewers are null; totals and rates are computed from shown cells only. Days not closed yet are listed in `inProgress`, with no figures. `days`, or `from` and `to` (UTC days, inclusive).",
        security: [{ reportToken: [] }],
        parameters: [
          requestId,
          ...queryParameters(reportQuerySchema, {
            days: `The last N closed UTC days: integer-like, clamped to 1..${REPORT_MAX_DAYS} (default 30).`,
            from: "First UTC day (YYYY-MM-DD), with `to`.",
            to: "Last UTC day (YYYY-MM-DD), inclusive, with `from`.",
          }),
        ],
        responses: { "200": json(r.report, "The report"), ...errors(["invalid_days", "invalid_range", "unauthorized", "store_unavailable", ...ALWAYS]) },
      },
    };
    paths["/report/page"] = {
      get: {
        operationId: "getReportPage",
        summary: "The report as an HTML page (asks for the token, then reads /report)",
        security: PUBLIC,
        responses: { "200": { description: "HTML", content: { "text/html": { schema: { type: "string" } } } }, ...errors(ALWAYS) },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "tally",
      version: opts.version,
      description: "Counts-only, privacy-safe product telemetry. Any other path answers 404 with `{\"ok\":false,\"error\":\"not_found\"}`.",
      license: { name: opts.license, identifier: opts.license },
    },
    // Relative: the document is served by the service it describes, wherever that is mounted.
    servers: [{ url: "/", description: "This tally service" }],
    paths,
    components: {
      schemas: { Error: jsonSchema(errorBody(Object.keys(ERROR_STATUS) as ErrorCode[])) },
      securitySchemes: {
        bearerSession: { type: "http", scheme: "bearer", description: "The host app's session (a JWT, or whatever AUTH_INTROSPECT_URL accepts)." },
        sessionCookie: { type: "apiKey", in: "cookie", name: opts.cookieName },
        ...(opts.reportEnabled ? { reportToken: { type: "http", scheme: "bearer", description: "REPORT_TOKEN. A viewer session never grants the report." } } : {}),
      },
    },
  };
}
