import pg from "pg";

export default async function globalTeardown() {
  const adminUrl = process.env.TALLY_TEST_ADMIN_URL;
  const template = process.env.TALLY_TEST_TEMPLATE;
  if (adminUrl && template) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    // Test files drop their own databases; this catches any a crashed worker left.
    const { rows } = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE $1", [
      `${template.replace("_tpl_", "_f_")}%`,
    ]);
    for (const { datname } of [...rows, { datname: template }]) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`).catch(() => {});
    }
    await admin.end();
  }
  await globalThis.__tallyEmbedded?.stop();
}
