// What a team would otherwise write in an afternoon: Express 5 + express.json()
// + pg, one multi-row INSERT per request into the same telemetry_event table,
// durable (synchronous commit), answered after commit. No session check (the
// viewer is a hash of whatever Authorization says), no validation, no
// idempotency, no budget, no rollup. The bench's second baseline.
import { createHash } from "node:crypto";
import express from "express";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = express();
app.use(express.json({ limit: "4kb" }));
app.post("/ingest", async (req, res) => {
  const viewer = createHash("sha256").update(String(req.headers.authorization)).digest("hex");
  const count = Math.min(50, Math.max(1, Number(req.body?.count ?? 1)));
  try {
    await pool.query("INSERT INTO telemetry_event (viewer_id, event) SELECT $1, $2 FROM generate_series(1, $3)", [viewer, String(req.body?.event), count]);
    res.json({ ok: true, stored: count });
  } catch {
    res.status(503).json({ ok: false, error: "store_unavailable" });
  }
});
const server = app.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))));
