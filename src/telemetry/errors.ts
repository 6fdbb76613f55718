// What a use case answers when it cannot do what was asked: one of the
// contract's error codes. Database failures are classified once, here: an
// outage becomes store_unavailable (and a warning with the database's code and
// message); anything else is thrown as it is, a bug for the caller to report.
import type { Logger } from "pino";
import type { ErrorCode } from "../contract/index.js";
import { classifyStoreError } from "../store/errors.js";

export class TelemetryError extends Error {
  override name = "TelemetryError";
  constructor(
    readonly code: ErrorCode,
    /** Seconds, sent as Retry-After (rate_limited, store_unavailable). */
    readonly retryAfter?: number,
    /** Why, for the operator's log (a refusal's class such as "expired"); never sent to the client. */
    readonly reason?: string,
  ) {
    super(code);
  }
}

/** Store failures counted by kind, for metrics. */
export type StoreFailureListener = (kind: "unavailable" | "transient" | "other") => void;

/** Runs store work; an outage becomes TelemetryError("store_unavailable"), logged once as a warning. */
export async function storeCall<T>(log: Logger, work: () => Promise<T>, onFailure?: StoreFailureListener): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const failure = classifyStoreError(err);
    onFailure?.(failure.kind);
    if (failure.kind === "other") throw err;
    log.warn({ err }, "store unavailable");
    throw new TelemetryError("store_unavailable", 1);
  }
}
