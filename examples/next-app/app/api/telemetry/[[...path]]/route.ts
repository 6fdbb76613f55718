// The same-origin telemetry route: POST -> tally /ingest, GET -> /summary (and
// the development dashboard under /api/telemetry/dashboard), DELETE -> /me.
// Without TALLY_URL the build still works; requests then get 503 proxy_not_configured.
import { createTelemetryProxy } from "@tally/proxy";

const proxy = createTelemetryProxy({ serviceUrl: process.env.TALLY_URL });
export { proxy as GET, proxy as POST, proxy as DELETE };
