// What the HTTP edge refuses on its own (a request's shape, its session, its
// site, a route that does not exist): one of the contract's error codes. The
// use cases raise TelemetryError (src/telemetry/errors.ts) for theirs; the
// endpoint wrapper maps both to the one answer, {"ok":false,"error":code}.
import type { ErrorCode } from "../contract/index.js";

export class ContractError extends Error {
  override name = "ContractError";
  constructor(
    readonly code: ErrorCode,
    /** Seconds, sent as Retry-After. */
    readonly retryAfter?: number,
    /** Why, for the operator's log (a refusal's class such as "expired"); never sent to the client. */
    readonly reason?: string,
  ) {
    super(code);
  }
}
