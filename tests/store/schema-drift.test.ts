// prisma/schema.prisma is the truth for tables; prisma/migrations/ builds them.
// `prisma migrate diff` needs Prisma's schema engine, which cannot be installed
// everywhere tally is built, so this test asks Prisma's own parser instead —
// @prisma/prisma-schema-wasm, the parser `prisma generate` uses — for the DMMF
// of schema.prisma, and compares every model with the migrated database's
// catalog: tables, columns, types, nullability, defaults, primary keys, indexes,
// and collations (which Prisma cannot state: a field documented `/// COLLATE "C"`).
import { readFileSync } from "node:fs";
import { get_dmmf } from "@prisma/prisma-schema-wasm";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: string;
  type: string;
  isRequired: boolean;
  isId: boolean;
  documentation?: string;
  nativeType?: [string, string[]] | null;
  default?: { name: string; args: unknown[] } | string | number | boolean;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { fields: string[] } | null;
}
interface DmmfIndex {
  model: string;
  type: "id" | "normal" | "unique" | "fulltext";
  fields: { name: string }[];
}

const SCHEMA = readFileSync(new URL("../../prisma/schema.prisma", import.meta.url), "utf8");

/**
 * Prisma leaves @@ignore'd models (telemetry_event has no unique key) out of
 * its DMMF. To read them through the same parser, each @@ignore is replaced by
 * a synthetic @@id over the model's fields, and no primary key is expected.
 */
function readableSchema(text: string): { schema: string; ignored: Set<string> } {
  const ignored = new Set<string>();
  const schema = text.replace(/^model (\w+) \{([\s\S]*?)^\}/gm, (block, name: string, body: string) => {
    if (!/^\s*@@ignore\s*$/m.test(body)) return block;
    ignored.add(name);
    const fields = [...body.matchAll(/^\s*(\w+)\s+\w+/gm)].map((m) => m[1]);
    return block.replace(/^\s*@@ignore\s*$/m, `  @@id([${fields.join(", ")}])`);
  });
  return { schema, ignored };
}

const { schema, ignored } = readableSchema(SCHEMA);
const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [["schema.prisma", schema]] }))) as {
  datamodel: { models: DmmfModel[]; indexes: DmmfIndex[] };
};
const models = dmmf.datamodel.models;
const tableOf = (m: DmmfModel) => m.dbName ?? m.name;
const columnOf = (m: DmmfModel, field: string) => {
  const f = m.fields.find((x) => x.name === field)!;
  return f.dbName ?? f.name;
};

/** The PostgreSQL type Prisma creates for a field. */
function expectedType(f: DmmfField): string {
  const [native, args] = f.nativeType ?? [undefined, []];
  switch (native) {
    case "VarChar":
      return `character varying(${args[0]})`;
    case "Timestamptz":
      return `timestamp(${args[0] ?? 6}) with time zone`;
    case "Date":
      return "date";
    case undefined:
      return { String: "text", Int: "integer", BigInt: "bigint", Float: "double precision", Boolean: "boolean", DateTime: "timestamp(3) without time zone" }[f.type] ?? `? ${f.type}`;
    default:
      return `? @db.${native}`;
  }
}

/** The column default's expression, as PostgreSQL prints it, for a field's @default. */
function expectedDefault(f: DmmfField): string | RegExp | null {
  const d = f.default;
  if (d === undefined) return null;
  if (typeof d === "object") {
    if (d.name === "now") return "CURRENT_TIMESTAMP";
    if (d.name === "autoincrement") return /^nextval\(/;
    return `? ${d.name}()`;
  }
  return String(d);
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

test("Prisma reads the schema, and it declares the tables the contract needs", () => {
  expect(models.map(tableOf).sort()).toEqual([
    "telemetry_aggregate",
    "telemetry_aggregated_day",
    "telemetry_daily",
    "telemetry_erasure",
    "telemetry_event",
    "telemetry_idempotency",
    "telemetry_job_claim",
    "telemetry_purge_run",
    "telemetry_rate_window",
  ]);
  const event = models.find((m) => tableOf(m) === "telemetry_event")!;
  expect(event.fields.map((f) => f.dbName ?? f.name)).toEqual(["viewer_id", "event", "created_at"]);
  expect(ignored).toEqual(new Set(["TelemetryEvent"])); // rows with no key are invisible to the typed client
});

test("every table of the migrated database (bar the runner's own and day partitions) is a model", async () => {
  const { rows } = await db.sql.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname NOT IN ('_prisma_migrations', '_tally_functions')`,
  );
  expect(rows.map((r) => r.relname).sort()).toEqual(models.map(tableOf).sort());
});

describe.each(models.map((m) => [tableOf(m), m] as const))("model %s", (table, model) => {
  test("columns, types, nullability, defaults and collations are Prisma's", async () => {
    const { rows } = await db.sql.query<{ column_name: string; type: string; not_null: boolean; def: string | null; collation: string | null }>(
      `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
              pg_get_expr(d.adbin, d.adrelid) AS def, co.collname AS collation
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [table],
    );
    const scalars = model.fields.filter((f) => f.kind === "scalar");
    expect(rows.map((r) => r.column_name).sort()).toEqual(scalars.map((f) => f.dbName ?? f.name).sort());
    for (const f of scalars) {
      const col = rows.find((r) => r.column_name === (f.dbName ?? f.name))!;
      expect({ column: col.column_name, type: col.type, nullable: !col.not_null }).toEqual({
        column: f.dbName ?? f.name,
        type: expectedType(f),
        nullable: !f.isRequired,
      });
      // Identifiers compare byte by byte where the schema says so; other text keeps the database's default.
      const collation = /COLLATE "C"/.test(f.documentation ?? "") ? "C" : f.type === "String" ? "default" : null;
      expect({ column: col.column_name, collation: col.collation }).toEqual({ column: col.column_name, collation });
      const def = expectedDefault(f);
      if (def instanceof RegExp) expect(col.def).toMatch(def);
      else expect(col.def).toBe(def);
    }
  });

  test("primary key and indexes are Prisma's", async () => {
    const { rows } = await db.sql.query<{ primary: boolean; columns: string[] }>(
      `SELECT i.indisprimary AS primary,
              array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
       FROM pg_index i WHERE i.indrelid = $1::regclass`,
      [table],
    );
    const modelIndexes = dmmf.datamodel.indexes.filter((i) => i.model === model.name);
    const idFields = ignored.has(model.name)
      ? undefined // the synthetic @@id: the table has no primary key
      : (model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name));
    expect(rows.find((r) => r.primary)?.columns).toEqual(idFields?.map((f) => columnOf(model, f)));
    const expected = modelIndexes.filter((i) => i.type === "normal" || i.type === "unique").map((i) => i.fields.map((f) => columnOf(model, f.name)));
    expect(rows.filter((r) => !r.primary).map((r) => r.columns).sort()).toEqual(expected.sort());
  });
});
