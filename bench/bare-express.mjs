// The baseline: bare Express 5 + express.json() answering the same POST (and a
// GET for the summary scenarios) with no auth, no validation, no database.
// tally's figures are reported as a ratio to this server's, measured in the same run.
import express from "express";

const app = express();
app.use(express.json({ limit: "4kb" }));
app.post("/ingest", (req, res) => res.json({ ok: true, stored: Number(req.body?.count ?? 1) }));
app.get("/summary", (_req, res) => res.json({ ok: true, days: 7, counts: { suggestion_shown: 0 } }));
const server = app.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
