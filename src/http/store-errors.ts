// A store failure while serving a request: an outage (connection, timeout,
// resources) means "nothing was stored / nothing can be read right now", so the
// client gets 503 store_unavailable and may retry, and operators get a warning
// with the database error's code and message (no request data). Anything else
// is rethrown: the error handler answers 500 internal and logs its stack.
import type { Logger } from "pino";
import { classifyStoreError } from "../store/errors.js";
import { StoreUnavailableError } from "./errors.js";

export async function withStore<T>(log: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const failure = classifyStoreError(err);
    if (failure.kind === "other") throw err;
    log.warn({ err: { code: failure.code, message: failure.message } }, "store unavailable");
    throw new StoreUnavailableError();
  }
}
