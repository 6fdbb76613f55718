// (b) Sessions from an identity provider (Auth0, Clerk, Cognito, Okta, …):
// tally verifies the provider's access tokens (RS256/ES256/…) against its
// JWKS, with issuer and audience. The proxy route adds the signed-in user's
// token, which your provider's server SDK gives you.
import { createTelemetryProxy } from "@tally/proxy";

const proxy = createTelemetryProxy({ serviceUrl: process.env.TALLY_URL });

/** `accessToken(request)`: the signed-in user's access token for tally's audience, or null. */
export function identityProviderProxy(accessToken) {
  return async (request) => {
    const token = await accessToken(request);
    const headers = new Headers(request.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    const body = request.method === "POST" ? await request.arrayBuffer() : undefined;
    return proxy(new Request(request.url, { method: request.method, headers, body }));
  };
}

// Next.js (app/api/telemetry/[[...path]]/route.ts), with your SDK's server helper:
//   const handler = identityProviderProxy((req) => getAccessToken(req));
//   export { handler as GET, handler as POST, handler as DELETE };
// tally: SESSION_JWKS_URL=https://<your-tenant>/.well-known/jwks.json
//        SESSION_ISSUER=https://<your-tenant>/   SESSION_AUDIENCE=<the API identifier your tokens are issued for>
