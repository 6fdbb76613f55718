import { defineConfig } from "prisma/config";

// The CLI only needs a URL for commands that talk to a database (tally applies
// its own migrations; see src/store/migrate.ts). `generate` needs none.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/tally" },
});
