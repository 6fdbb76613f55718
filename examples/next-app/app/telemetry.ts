"use client";
// One emitter for the whole app. Created at module load: during server
// rendering it is inert (no browser, nothing sent); in the browser it posts to
// the same-origin route app/api/telemetry.
import { createTelemetry } from "@tally/client";

export const telemetry = createTelemetry({ endpoint: "/api/telemetry" });
