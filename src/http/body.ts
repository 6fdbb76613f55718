// The ingest body, read without Express's generic parser: at most
// BODY_LIMIT_BYTES of JSON (or text/plain, so navigator.sendBeacon needs no
// CORS preflight), UTF-8, optionally gzip/deflate/br-encoded. Anything else is
// the contract's invalid_body; too much is payload_too_large, and the rest is
// not read.
import type { IncomingMessage } from "node:http";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { BODY_LIMIT_BYTES } from "../contract/index.js";
import { ContractError } from "./errors.js";

const JSON_TYPES = /^(application\/json|application\/[a-z0-9.+-]+\+json|text\/plain)$/;
const DECODERS: Record<string, (b: Buffer, o: { maxOutputLength: number }) => Buffer> = {
  gzip: gunzipSync,
  "x-gzip": gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/** The body as JSON (an empty body is `{}`); throws TelemetryError with the contract's code. */
export async function readJsonBody(req: IncomingMessage, limit = BODY_LIMIT_BYTES): Promise<unknown> {
  const [media = "", ...params] = (req.headers["content-type"] ?? "").toLowerCase().split(";");
  if (!JSON_TYPES.test(media.trim())) throw new ContractError("invalid_body");
  const charset = params.map((p) => p.trim()).find((p) => p.startsWith("charset="));
  if (charset && !/^charset="?utf-8"?$/.test(charset)) throw new ContractError("invalid_body");
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase().trim();
  const decode = encoding === "identity" ? undefined : DECODERS[encoding];
  if (encoding !== "identity" && !decode) throw new ContractError("invalid_body");
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) throw new ContractError("payload_too_large");

  let raw = await readAtMost(req, limit);
  if (decode) {
    try {
      raw = decode(raw, { maxOutputLength: limit });
    } catch (err) {
      throw new ContractError((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" ? "payload_too_large" : "invalid_body");
    }
  }
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ContractError("invalid_body");
  }
}

/** Reads the request's bytes; past `limit` it stops listening and rejects (the caller closes the connection). */
function readAtMost(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        return reject(new ContractError("payload_too_large"));
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new ContractError("invalid_body"));
    };
    const onAborted = onError;
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
