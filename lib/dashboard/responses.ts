/**
 * The dashboard's responses: the security headers every one carries (a
 * strict Content-Security-Policy first), pages, JSON, redirects, and how
 * an error becomes an HTTP status.
 *
 * @module
 */
import { SitqError } from "../core/errors.ts";
import { BadActionError } from "./actions.ts";
import type { Html } from "./html.ts";

/**
 * The policy every response carries: scripts, styles, images and fetches
 * from the dashboard's own origin only, no inline script or style
 * attribute, no framing, forms posting only to itself.
 */
export const CONTENT_SECURITY_POLICY: string =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The headers of every answer: `type`, the security headers, `extra`. */
export function headers(
  type: string,
  extra: Record<string, string> = {},
): Headers {
  return new Headers({
    "content-type": type,
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    ...extra,
  });
}

/** An HTML page. */
export function page(
  body: Html,
  status = 200,
  extra: Record<string, string> = {},
): Response {
  // The formatter indents templates: the doctype still comes first.
  return new Response(String(body).trimStart(), {
    status,
    headers: headers("text/html; charset=utf-8", extra),
  });
}

/** A JSON answer. */
export function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: headers("application/json; charset=utf-8"),
  });
}

/** A 303 to `location` (after a POST). */
export function redirect(
  location: string,
  extra: Record<string, string> = {},
): Response {
  return new Response(null, {
    status: 303,
    headers: headers("text/plain", { location, ...extra }),
  });
}

/** An error as a status and message for the page or JSON answer. */
export function describeError(
  error: unknown,
): { status: number; message: string; code?: string } {
  if (error instanceof BadActionError) {
    return { status: error.status, message: error.message };
  }
  if (error instanceof SitqError) {
    const code: string = error.code;
    const status = code === "TASK_NOT_FOUND"
      ? 404
      : code === "INVALID_STATE" || code === "DUPLICATE_KEY"
      ? 409
      : 500;
    return { status, message: error.message, code };
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return { status: 400, message: error.message };
  }
  return {
    status: 500,
    message: error instanceof Error ? error.message : String(error),
  };
}
