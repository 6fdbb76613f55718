// Stored viewer ids are HMAC-SHA256(secret, session viewer id): a leaked table
// reveals no account ids, while the same viewer always maps to the same row key.
import { createHmac } from "node:crypto";

export type ViewerHasher = (viewerId: string) => string;

export function createViewerHasher(hexSecret: string): ViewerHasher {
  const key = Buffer.from(hexSecret, "hex");
  return (viewerId) => createHmac("sha256", key).update(viewerId, "utf8").digest("hex");
}

export type KeyHasher = (idempotencyKey: string) => string;

/**
 * Idempotency-Keys are text a client chooses, so they could carry personal
 * data: only HMAC-SHA256 of them is stored, under a key derived from the same
 * secret (a different derivation than viewer ids, so the two never collide).
 */
export function createKeyHasher(hexSecret: string): KeyHasher {
  const key = createHmac("sha256", Buffer.from(hexSecret, "hex")).update("tally idempotency-key").digest();
  return (idempotencyKey) => createHmac("sha256", key).update(idempotencyKey, "utf8").digest("hex");
}
