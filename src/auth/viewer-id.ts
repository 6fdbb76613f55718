// Stored viewer ids are HMAC-SHA256(secret, session viewer id): a leaked table
// reveals no account ids, while the same viewer always maps to the same row key.
import { createHmac } from "node:crypto";

export type ViewerHasher = (viewerId: string) => string;

export function createViewerHasher(hexSecret: string): ViewerHasher {
  const key = Buffer.from(hexSecret, "hex");
  return (viewerId) => createHmac("sha256", key).update(viewerId, "utf8").digest("hex");
}
