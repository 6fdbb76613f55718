// The only place identifiers become what is stored. Viewer ids are stored as
// HMAC-SHA256(secret, session viewer id): a leaked table reveals no account ids,
// while the same viewer always maps to the same key. Idempotency-Keys are text a
// client chooses, so they too are stored only as an HMAC, under a key derived
// from the same secret (another derivation, so the two never collide).
import { createHmac } from "node:crypto";
import { Lru } from "../lib/lru.js";

export type Hasher = (value: string) => string;

/** The hashed viewer id; recent ones are remembered (an HMAC per request was ~3 % of ingest CPU). */
export function createViewerHasher(hexSecret: string, memoSize = 0): Hasher {
  const key = Buffer.from(hexSecret, "hex");
  const hash = (viewerId: string) => createHmac("sha256", key).update(viewerId, "utf8").digest("hex");
  if (memoSize < 1) return hash;
  const memo = new Lru<string, string>(memoSize);
  return (viewerId) => {
    let hashed = memo.get(viewerId);
    if (hashed === undefined) memo.set(viewerId, (hashed = hash(viewerId)));
    return hashed;
  };
}

export function createKeyHasher(hexSecret: string): Hasher {
  const key = createHmac("sha256", Buffer.from(hexSecret, "hex")).update("tally idempotency-key").digest();
  return (idempotencyKey) => createHmac("sha256", key).update(idempotencyKey, "utf8").digest("hex");
}
