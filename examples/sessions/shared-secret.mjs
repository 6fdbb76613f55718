// (a) Your app signs a short-lived session for tally with a secret only your
// server and tally know (HS256). Works with any session system.
import { SignJWT } from "jose";

// tally's SESSION_SECRET (generate it with: openssl rand -hex 32)
const secret = new TextEncoder().encode(process.env.TALLY_SESSION_SECRET);

/** On sign-in (and when your own session is refreshed): the value of the cookie the proxy forwards to tally. */
export function tallySessionToken(userId) {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(String(userId)) // the viewer id tally hashes; never shown to anyone
    .setIssuedAt()
    .setExpirationTime("12h")
    .sign(secret);
}

// Set it beside your own session cookie, and forward only it:
//   res.cookie("tally_session", await tallySessionToken(user.id), { httpOnly: true, sameSite: "lax", secure: true });
//   app.use("/api/telemetry", expressTelemetryProxy({ serviceUrl: TALLY_URL, cookieNames: ["tally_session"] }));
// tally: SESSION_SECRET=<the same secret>  SESSION_COOKIE=tally_session
// On sign-out, clear the cookie and call telemetry.reset() in the page.
