// Example host app: an Express app with one page whose buttons call `track`,
// the tally proxy mounted at /api/telemetry, and a toy sign-in that sets the
// session cookie (a JWT signed with the secret tally verifies).
//
//   npm start                 # tally on :3000 (another terminal)
//   npm run example           # this app on :5173 -> open http://localhost:5173
//
// It imports @tally/proxy and serves @tally/client the way any host app does;
// here they resolve to this repository's packages/ (npm workspaces).
import { readFileSync } from "node:fs";
import express from "express";
import { SignJWT } from "jose";
import { expressTelemetryProxy } from "@tally/proxy";

const PORT = Number(process.env.PORT ?? 5173);
const TALLY_URL = process.env.TALLY_URL ?? "http://127.0.0.1:3000";
// Must match tally's SESSION_SECRET; this default is tally's own development default.
const SESSION_SECRET = process.env.SESSION_SECRET ?? "tally-dev-only-session-secret-not-for-production";

const app = express();
app.disable("x-powered-by");

// 1. The same-origin telemetry route: forwards only the session cookie, Authorization,
//    Idempotency-Key and a request id to tally.
app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: TALLY_URL, cookieNames: ["session"] }));

// 2. The browser emitter, served from this origin (no CDN).
const emitter = readFileSync(new URL(import.meta.resolve("@tally/client")), "utf8");
app.get("/vendor/tally-client.js", (_req, res) => res.type("js").send(emitter));

// 3. A toy sign-in: a real app would set its own session cookie.
app.post("/login", async (_req, res) => {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("demo-user")
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(SESSION_SECRET));
  res.cookie("session", token, { httpOnly: true, sameSite: "lax", path: "/" });
  res.json({ ok: true });
});
app.post("/logout", (_req, res) => {
  res.clearCookie("session", { path: "/" });
  res.json({ ok: true });
});

app.use(express.static(new URL("./public/", import.meta.url).pathname));

const server = app.listen(PORT, "127.0.0.1", () => {
  console.log(`host app listening on http://127.0.0.1:${server.address().port} (tally at ${TALLY_URL})`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
