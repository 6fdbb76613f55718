// The one place that decides what a database failure means. Connection,
// timeout and resource failures are "unavailable" (the client gets 503
// store_unavailable and may retry); deadlocks and serialization failures are
// "transient" (the batch is retried once, then unavailable); anything else is
// a bug or a broken schema ("other": 500 internal, logged with its stack).
// Errors come from pg directly or wrapped by Prisma's driver adapter; both are
// read, following `cause`.

type StoreFailureKind = "unavailable" | "transient" | "other";

export interface StoreFailure {
  kind: StoreFailureKind;
  /** SQLSTATE, Node socket code or Prisma code, when there is one. */
  code: string | undefined;
  /** The first non-empty line of the database's message: names no request data. */
  message: string;
}

const NODE_UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ECONNABORTED"]);
const PRISMA_UNAVAILABLE = new Set(["P1000", "P1001", "P1002", "P1003", "P1008", "P1011", "P1017", "P2024"]);
const ADAPTER_UNAVAILABLE = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TlsConnectionError",
  "AuthenticationFailed",
  "DatabaseDoesNotExist",
  "DatabaseAccessDenied",
]);
// pg and pg-pool failures that carry no code.
const UNAVAILABLE_MESSAGE = /connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|client was closed|terminating connection|server closed the connection/i;

function bySqlState(code: string): StoreFailureKind | undefined {
  if (!/^[0-9A-Z]{5}$/.test(code)) return undefined;
  if (code === "40001" || code === "40P01") return "transient";
  // 08 connection, 53 insufficient resources, 57P0x shutdown, 58 system I/O,
  // 28 authentication, 3D000 no such database, 25006 read-only (a failover), 57014 statement timeout, 55P03 lock timeout
  if (/^(08|53|58|28)/.test(code) || /^57P0[1-4]$/.test(code) || ["3D000", "25006", "57014", "55P03"].includes(code)) return "unavailable";
  return "other";
}

/** The error and what it wraps: `cause`, and Prisma's `meta.driverAdapterError`. Outermost first. */
function chain(err: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 8) {
    const e = queue.shift();
    if (!e || typeof e !== "object" || out.includes(e as Record<string, unknown>)) continue;
    const o = e as Record<string, unknown> & { meta?: { driverAdapterError?: unknown } };
    out.push(o);
    queue.push(o.cause, o.meta?.driverAdapterError);
  }
  return out;
}

function kindOf(o: Record<string, unknown>, code: string | undefined, message: string): StoreFailureKind | undefined {
  if (code) {
    // Node's and Prisma's own codes first: EPIPE or P1001 are five characters too, but not SQLSTATEs.
    if (NODE_UNAVAILABLE.has(code) || PRISMA_UNAVAILABLE.has(code)) return "unavailable";
    if (code === "P2034") return "transient";
    const bySql = "severity" in o || o.kind === "postgres" ? bySqlState(code) : undefined;
    if (bySql) return bySql;
  }
  if (typeof o.kind === "string" && ADAPTER_UNAVAILABLE.has(o.kind)) return "unavailable";
  if (o.kind === "TransactionWriteConflict") return "transient";
  if (UNAVAILABLE_MESSAGE.test(message)) return "unavailable";
  return undefined;
}

/** Classifies a database failure, reading the error and what it wraps; the innermost (the driver's) answer wins. */
export function classifyStoreError(err: unknown): StoreFailure {
  let kind: StoreFailureKind | undefined;
  let code: string | undefined;
  let message = "";
  for (const o of chain(err).reverse()) {
    const ownCode = typeof o.originalCode === "string" ? o.originalCode : typeof o.code === "string" && o.code !== "N/A" ? o.code : undefined;
    const ownMessage = typeof o.originalMessage === "string" ? o.originalMessage : typeof o.message === "string" ? o.message : "";
    // Prisma's own first line ("Invalid prisma.$queryRaw() invocation:", in backquotes) says nothing about the failure.
    const line = ownMessage.split("\n").find((l) => l.trim() && !/^Invalid \x60/.test(l.trim()));
    kind ??= kindOf(o, ownCode, ownMessage);
    code ??= ownCode ?? (typeof o.kind === "string" && o.kind !== "postgres" ? o.kind : undefined);
    if (!message && line) message = line.trim();
  }
  return { kind: kind ?? "other", code, message: message.slice(0, 200) || (err instanceof Error ? err.name : typeof err) };
}

/** PostgreSQL's own error inside `err` (pg's, however wrapped): its SQLSTATE and, when it names one, the table. */
export function postgresError(err: unknown): { code: string; table: string | undefined } | undefined {
  for (const o of chain(err).reverse()) {
    if ("severity" in o && typeof o.code === "string" && /^[0-9A-Z]{5}$/.test(o.code)) {
      return { code: o.code, table: typeof o.table === "string" ? o.table : undefined };
    }
  }
  return undefined;
}

/**
 * "no partition of relation telemetry_event found for row" (check_violation):
 * maintenance has not run since midnight, or the clock jumped. PostgreSQL 15
 * names the table; 14 and older name none, so a check violation without a
 * table is taken for it too (ensuring partitions is idempotent, and a real
 * violation fails again on the retry).
 */
export function isMissingPartition(e: { code: string; table: string | undefined } | undefined): boolean {
  return e?.code === "23514" && (e.table === "telemetry_event" || e.table === undefined);
}
