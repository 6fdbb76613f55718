// One PostgreSQL for the whole run: TEST_DATABASE_URL when set (CI uses the
// machine's server), else an embedded one in a temporary folder. A template
// database is migrated once; every test file then gets its own copy
// (tests/helpers/database.ts), isolated from other files and from dev data.
// Plain ESM because jest loads global setup outside its transform pipeline;
// tsx's loader imports the TypeScript sources.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { tsImport } from "tsx/esm/api";

export default async function globalSetup() {
  const { migrate } = await tsImport("../../src/store/migrate.ts", import.meta.url);
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const { startEmbeddedPostgres } = await tsImport("../../src/store/embedded-postgres.ts", import.meta.url);
    const dir = mkdtempSync(path.join(tmpdir(), "tally-test-pg-"));
    const embedded = await startEmbeddedPostgres(dir, { database: "postgres", persistent: false });
    globalThis.__tallyEmbedded = embedded;
    adminUrl = embedded.url;
  }
  const template = `tally_test_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${template}`;
  await migrate(url.toString());
  // Day partitions around today, as a running service keeps them (files copied from the template get them).
  const tpl = new pg.Client({ connectionString: url.toString() });
  await tpl.connect();
  await tpl.query("SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 7)");
  await tpl.end();
  process.env.TALLY_TEST_ADMIN_URL = adminUrl;
  process.env.TALLY_TEST_TEMPLATE = template;
}
