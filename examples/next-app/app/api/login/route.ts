// A toy sign-in: a real app sets its own session cookie. This one holds a JWT
// signed with the secret tally verifies (SESSION_SECRET; its development default
// is tally's own), with the viewer id in `sub`.
import { SignJWT } from "jose";
import { NextResponse } from "next/server";

const SESSION_SECRET = process.env.SESSION_SECRET ?? "tally-dev-only-session-secret-not-for-production";

export async function POST() {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("next-demo-user")
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(SESSION_SECRET));
  const res = NextResponse.json({ ok: true });
  res.cookies.set("session", token, { httpOnly: true, sameSite: "lax", path: "/" });
  return res;
}
