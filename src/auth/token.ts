// Mints HS256 session tokens like a host app would: for `tally token` (development)
// and for tests. Production tokens come from the host app, never from tally.
import { SignJWT } from "jose";

export interface MintOptions {
  secret: string;
  viewer: string;
  ttlSeconds?: number;
  issuer?: string;
  audience?: string;
}

export async function mintSessionToken(opts: MintOptions): Promise<string> {
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(opts.viewer)
    .setIssuedAt()
    .setExpirationTime(`${opts.ttlSeconds ?? 3600}s`);
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience) jwt = jwt.setAudience(opts.audience);
  return jwt.sign(new TextEncoder().encode(opts.secret));
}
