// prisma/schema.prisma and prisma/migrations/*.sql must describe the same
// tables. `prisma migrate diff` needs Prisma's schema engine, which cannot be
// installed everywhere tally is built, so this test reads the schema's models
// and compares them with the migrated database's catalog.
import { readFileSync } from "node:fs";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

interface Field {
  column: string;
  type: string;
  nullable: boolean;
  default?: string;
}
interface Model {
  table: string;
  fields: Field[];
  primaryKey: string[];
  indexes: string[][];
}

const SCALARS: Record<string, string> = {
  String: "text",
  Int: "integer",
  BigInt: "bigint",
  DateTime: "timestamp(3) without time zone",
  Boolean: "boolean",
};

function nativeType(prismaType: string, attrs: string): string {
  const db = /@db\.(\w+)(?:\((\d+)\))?/.exec(attrs);
  if (!db) return SCALARS[prismaType] ?? `unknown ${prismaType}`;
  const [, name, arg] = db;
  switch (name) {
    case "VarChar":
      return `character varying(${arg})`;
    case "Timestamptz":
      return `timestamp(${arg ?? 6}) with time zone`;
    case "Date":
      return "date";
    default:
      return `unknown @db.${name}`;
  }
}

function parseSchema(text: string): Model[] {
  const models: Model[] = [];
  for (const [, name, body] of text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const fieldColumns = new Map<string, string>();
    const model: Model = { table: name!, fields: [], primaryKey: [], indexes: [] };
    for (const raw of body!.split("\n")) {
      const line = raw.replace(/\/\/.*$/, "").trim();
      if (!line) continue;
      const block = /^@@(\w+)\((.*)\)$/.exec(line);
      if (block) {
        const [, kind, args] = block;
        const cols = (/\[([^\]]*)\]/.exec(args!)?.[1] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
        if (kind === "map") model.table = /"(.*)"/.exec(args!)![1]!;
        if (kind === "id") model.primaryKey = cols;
        if (kind === "index") model.indexes.push(cols);
        continue;
      }
      const field = /^(\w+)\s+(\w+)(\?)?\s*(.*)$/.exec(line);
      if (!field) continue;
      const [, fname, ftype, optional, attrs] = field;
      const column = /@map\("([^"]+)"\)/.exec(attrs!)?.[1] ?? fname!;
      fieldColumns.set(fname!, column);
      const def = /@default\(([^)]*\)?)\)/.exec(attrs!)?.[1];
      model.fields.push({
        column,
        type: nativeType(ftype!, attrs!),
        nullable: optional === "?",
        ...(def ? { default: def } : {}),
      });
      if (/@id\b/.test(attrs!)) model.primaryKey = [fname!];
    }
    const col = (f: string) => fieldColumns.get(f) ?? f;
    model.primaryKey = model.primaryKey.map(col);
    model.indexes = model.indexes.map((cols) => cols.map(col));
    models.push(model);
  }
  return models;
}

let db: TestDatabase;
const models = parseSchema(readFileSync(new URL("../../prisma/schema.prisma", import.meta.url), "utf8"));

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

test("the schema declares the tables the contract needs", () => {
  expect(models.map((m) => m.table).sort()).toEqual([
    "telemetry_daily",
    "telemetry_event",
    "telemetry_idempotency",
    "telemetry_job_claim",
    "telemetry_purge_run",
    "telemetry_rate_window",
  ]);
  const event = models.find((m) => m.table === "telemetry_event")!;
  expect(event.fields.map((f) => f.column)).toEqual(["id", "viewer_id", "event", "created_at"]);
  expect(event.indexes).toContainEqual(["viewer_id", "event", "created_at"]);
});

test("every table of the migrated database (bar Prisma's own and day partitions) is a model", async () => {
  const { rows } = await db.sql.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname <> '_prisma_migrations'`,
  );
  expect(rows.map((r) => r.relname).sort()).toEqual(models.map((m) => m.table).sort());
});

describe.each(models.map((m) => [m.table, m] as const))("model %s", (table, model) => {
  test("columns, types, nullability and defaults match the migrations", async () => {
    const { rows } = await db.sql.query<{ column_name: string; type: string; not_null: boolean; def: string | null }>(
      `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
              pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [table],
    );
    expect(rows.map((r) => r.column_name)).toEqual(model.fields.map((f) => f.column));
    for (const field of model.fields) {
      const col = rows.find((r) => r.column_name === field.column)!;
      expect({ column: field.column, type: col.type, nullable: !col.not_null }).toEqual({
        column: field.column,
        type: field.type,
        nullable: field.nullable,
      });
      if (field.default === "autoincrement()") expect(col.def).toMatch(/^nextval\(/);
      else if (field.default === "now()") expect(col.def).toBe("CURRENT_TIMESTAMP");
      else if (field.default !== undefined) expect(col.def).toBe(field.default);
      else expect(col.def).toBeNull();
    }
  });

  test("primary key and indexes match the migrations", async () => {
    const { rows } = await db.sql.query<{ primary: boolean; columns: string[] }>(
      `SELECT i.indisprimary AS primary,
              array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
       FROM pg_index i WHERE i.indrelid = $1::regclass`,
      [table],
    );
    expect(rows.find((r) => r.primary)?.columns).toEqual(model.primaryKey);
    const secondary = rows.filter((r) => !r.primary).map((r) => r.columns);
    expect(secondary.sort()).toEqual([...model.indexes].sort());
  });
});
