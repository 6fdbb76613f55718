// The event catalog's shape, its validation and loading. Operators may replace the
// default catalog with a JSON file (TELEMETRY_CATALOG); it is validated at start.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { defaultCatalog } from "./default-catalog.js";

/** What a count of an event can reveal; shown in `explain` for privacy reviews. */
export const privacyClasses = {
  "usage-count": "How many times a feature was used. No content, no identifiers.",
  "preference-change": "How many times a setting was switched. Not the setting's value history.",
  "diagnostic-count": "How many times something went wrong. No messages, no stack traces.",
} as const;
export type PrivacyClass = keyof typeof privacyClasses;

// Event names are stored in a varchar(80) and appear in URLs and JSON keys.
const eventName = z.string().regex(/^[a-z][a-z0-9_]{0,79}$/, "lower_snake_case, at most 80 characters");

const catalogSchema = z
  .object({
    events: z
      .array(
        z.strictObject({
          name: eventName,
          description: z.string().min(1).max(500),
          surface: z.string().min(1).max(120),
          privacyClass: z.enum(Object.keys(privacyClasses) as [PrivacyClass, ...PrivacyClass[]]),
        }),
      )
      .min(1)
      .max(200),
    rates: z
      .array(z.strictObject({ name: eventName, numerator: eventName, denominator: eventName }))
      .max(100)
      .default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    for (const e of c.events) {
      if (names.has(e.name)) ctx.addIssue({ code: "custom", message: `duplicate event ${e.name}` });
      names.add(e.name);
    }
    for (const r of c.rates) {
      for (const side of [r.numerator, r.denominator]) {
        if (!names.has(side)) ctx.addIssue({ code: "custom", message: `rate ${r.name} names unknown event ${side}` });
      }
    }
  });

export type CatalogDefinition = z.input<typeof catalogSchema>;
type CatalogEvent = z.output<typeof catalogSchema>["events"][number];
type CatalogRate = z.output<typeof catalogSchema>["rates"][number];

export interface Catalog {
  readonly events: readonly CatalogEvent[];
  readonly rates: readonly CatalogRate[];
  /** Event names in catalog order. */
  readonly names: readonly string[];
  has(name: string): boolean;
}

export class CatalogError extends Error {
  override name = "CatalogError";
}

function buildCatalog(definition: unknown, source = "catalog"): Catalog {
  const parsed = catalogSchema.safeParse(definition);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "root"}: ${i.message}`);
    throw new CatalogError(`invalid ${source}: ${problems.join("; ")}`);
  }
  const { events, rates } = parsed.data;
  const names = events.map((e) => e.name);
  const allowed = new Set(names);
  return Object.freeze({
    events: Object.freeze(events),
    rates: Object.freeze(rates),
    names: Object.freeze(names),
    has: (name: string) => allowed.has(name),
  });
}

/** The default catalog, or the JSON file at `file` (TELEMETRY_CATALOG). Throws CatalogError. */
export function loadCatalog(file?: string): Catalog {
  if (!file) return buildCatalog(defaultCatalog, "default catalog");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CatalogError(`TELEMETRY_CATALOG: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  return buildCatalog(raw, `TELEMETRY_CATALOG file ${file}`);
}
