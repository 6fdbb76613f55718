// (c) Opaque sessions (express-session, Auth.js database sessions, Rails,
// Django…): tally asks your app who is signed in. Expose this endpoint on a
// private address; tally calls it with only the session cookie (and any
// Authorization header) of the request it is answering, and caches the answer.

/** A handler (node:http or Express): 200 {"id": "<viewer id>"} when signed in, 401 when not. */
export function whoami(currentUser) {
  return async (req, res) => {
    const user = await currentUser(req); // your app's own session lookup
    res.setHeader("cache-control", "no-store");
    if (!user) return void res.writeHead(401).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: String(user.id) }));
  };
}

// Express: app.get("/internal/tally/whoami", whoami((req) => req.session?.user));
// tally: AUTH_MODE=introspect  AUTH_INTROSPECT_URL=http://app.internal:3001/internal/tally/whoami
//        SESSION_COOKIE=<your session cookie's name, e.g. connect.sid>
