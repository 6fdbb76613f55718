// Any failure of the store while serving a request means "nothing was stored /
// nothing can be read right now": the client gets 503 store_unavailable and
// may retry. The cause is logged for operators, without request data.
import type { Logger } from "pino";
import { StoreUnavailableError } from "./errors.js";

export async function withStore<T>(log: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    log.warn({ err: describe(err) }, "store unavailable");
    throw new StoreUnavailableError();
  }
}

function describe(err: unknown): { type: string; code?: string; message: string } {
  if (!(err instanceof Error)) return { type: typeof err, message: "non-error thrown" };
  const code = (err as { code?: unknown }).code;
  // Driver messages name the database, the host, the failing SQL state: no request data.
  return { type: err.name, ...(typeof code === "string" ? { code } : {}), message: err.message.split("\n")[0]!.split("Failing row")[0]!.slice(0, 200) };
}
