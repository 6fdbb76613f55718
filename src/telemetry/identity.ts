// The only place identifiers become what is stored, all keyed by
// TELEMETRY_ID_SECRET (each use under its own derived key, so no two collide):
//
//   viewer_id   HMAC of the session's viewer id: a leaked table reveals no
//               account ids, while the same viewer always maps to the same key.
//   subject     another HMAC of the viewer id, for what must outlive an erasure
//               (its tombstone, the row budget): a row holding it cannot be
//               joined with the viewer's rows, even in a backup made before.
//   key hash    Idempotency-Keys are text a client chooses: kept only as an HMAC.
//   binding     proof, carried by the emitter with every count, of which viewer
//               was signed in when the count was tracked, and since when.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { BINDING_PATTERN } from "../contract/index.js";
import { Lru } from "../lib/lru.js";

export type Hasher = (value: string) => string;

const derive = (hexSecret: string, purpose: string) => createHmac("sha256", Buffer.from(hexSecret, "hex")).update(purpose).digest();

/** The hashed viewer id. */
export function createViewerHasher(hexSecret: string): Hasher {
  const key = Buffer.from(hexSecret, "hex");
  return (viewerId) => createHmac("sha256", key).update(viewerId, "utf8").digest("hex");
}

/** The erasure subject of a session's viewer id. */
export function createSubjectHasher(hexSecret: string): Hasher {
  const key = derive(hexSecret, "tally erasure subject");
  return (viewerId) => createHmac("sha256", key).update(viewerId, "utf8").digest("hex");
}

export function createKeyHasher(hexSecret: string): Hasher {
  const key = derive(hexSecret, "tally idempotency-key");
  return (idempotencyKey) => createHmac("sha256", key).update(idempotencyKey, "utf8").digest("hex");
}

/** What a session's viewer id is stored as. */
export interface ViewerKeys {
  viewerId: string;
  subject: string;
}

/** Both stored names of a viewer; recent ones are remembered (an HMAC per request was ~3 % of ingest CPU). */
export function createViewerKeys(hexSecret: string, memoSize: number): (viewer: string) => ViewerKeys {
  const viewerId = createViewerHasher(hexSecret);
  const subject = createSubjectHasher(hexSecret);
  const memo = new Lru<string, ViewerKeys>(Math.max(1, memoSize));
  return (viewer) => {
    let keys = memo.get(viewer);
    if (keys === undefined) memo.set(viewer, (keys = { viewerId: viewerId(viewer), subject: subject(viewer) }));
    return keys;
  };
}

/**
 * A short public fingerprint of a secret (the id secret, the session secret),
 * so an operator can tell which secret a process uses without printing it.
 */
export function secretFingerprint(secret: string): string {
  return createHash("sha256").update("tally secret fingerprint\u0000").update(secret, "utf8").digest("hex").slice(0, 8);
}

/**
 * Session bindings: `b1.<issued>.<nonce>.<mac>`, issued (µs, the database's
 * clock) in base 36, a random nonce, and a MAC over both and the viewer_id. It
 * names nobody: without the secret it cannot be linked to a viewer, and two
 * bindings of one viewer (another page, another device) share nothing.
 */
export interface Bindings {
  issue(viewerId: string, issuedUs: number): string;
  /** When the binding was issued (µs), if it is well-formed and was issued to `viewerId`; else null. */
  verify(binding: string, viewerId: string): number | null;
}

export function createBindings(hexSecret: string): Bindings {
  const key = derive(hexSecret, "tally session binding");
  const mac = (head: string, viewerId: string) => createHmac("sha256", key).update(head).update("\u0000").update(viewerId).digest().subarray(0, 16);
  return {
    issue(viewerId, issuedUs) {
      const head = `b1.${issuedUs.toString(36)}.${randomBytes(8).toString("base64url")}`;
      return `${head}.${mac(head, viewerId).toString("base64url")}`;
    },
    verify(binding, viewerId) {
      if (!BINDING_PATTERN.test(binding)) return null;
      const cut = binding.lastIndexOf(".");
      const head = binding.slice(0, cut);
      const given = Buffer.from(binding.slice(cut + 1), "base64url");
      if (given.length !== 16 || !timingSafeEqual(given, mac(head, viewerId))) return null;
      const issued = parseInt(head.split(".")[1]!, 36);
      return Number.isSafeInteger(issued) ? issued : null;
    },
  };
}
