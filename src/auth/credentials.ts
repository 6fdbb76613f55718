// Reading credentials from request headers, shared by every session resolver.
import { parse as parseCookie } from "cookie";
import type { IncomingHttpHeaders } from "node:http";

export type ViewerResolver = (headers: IncomingHttpHeaders) => Promise<string | null>;

/** Longest viewer id accepted from any session source. */
export const MAX_VIEWER_ID_LENGTH = 256;
/** Credentials longer than this are refused unread (a JWT is typically < 1 KiB). */
export const MAX_CREDENTIAL_LENGTH = 8 * 1024;

export function validViewerId(value: unknown): string | null {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== "string") return null;
  const id = value.trim();
  return id.length > 0 && id.length <= MAX_VIEWER_ID_LENGTH ? id : null;
}

export function readCookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  const header = headers.cookie;
  if (!header || header.length > 16 * 1024) return undefined;
  try {
    return parseCookie(header)[name];
  } catch {
    return undefined;
  }
}

export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (!auth) return undefined;
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(auth);
  return match?.[1];
}

