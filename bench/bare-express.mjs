// The baseline: bare Express 5 + express.json() answering the same POST (and a
// GET for the summary scenarios) with no auth, no validation, no database.
// tally's figures are reported as a ratio to this server's, measured in the same run.
// WEB_CONCURRENCY=N: N workers behind one port (node:cluster), as tally runs them.
import cluster from "node:cluster";
import express from "express";

const workers = Number(process.env.WEB_CONCURRENCY ?? 1);
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let listening = 0;
  cluster.on("listening", (_w, address) => {
    if (++listening === workers) process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const app = express();
  app.use(express.json({ limit: "4kb" }));
  app.post("/ingest", (req, res) => res.json({ ok: true, stored: Number(req.body?.count ?? 1) }));
  app.get("/summary", (_req, res) => res.json({ ok: true, days: 7, counts: { suggestion_shown: 0 } }));
  // In a cluster, listen(0) gives every worker the same port (the primary picks it).
  const server = app.listen(0, "127.0.0.1", () => {
    if (cluster.isPrimary) process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
