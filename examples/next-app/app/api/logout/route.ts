// The toy sign-out: clears the session cookie. The page calls telemetry.reset()
// with it, so nothing this user tracked waits in the browser for the next one.
import { NextResponse } from "next/server";

export async function POST() {
  const res = NextResponse.json({ ok: true });
  res.cookies.set("session", "", { httpOnly: true, sameSite: "lax", path: "/", maxAge: 0 });
  return res;
}
