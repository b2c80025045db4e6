/**
 * Who may see the dashboard and which requests may change anything.
 *
 * - With a `token`, every request needs it: as `Authorization: Bearer
 *   <token>` (scripts), or through the login form, which sets an HttpOnly,
 *   SameSite=Strict cookie holding a SHA-256 digest of the token (never the
 *   token itself).
 * - Every POST (actions, login) must be same-origin: its `Origin` header
 *   names the request's own host (or `Sec-Fetch-Site` says
 *   `same-origin`), and its form carries the dashboard's CSRF token. A
 *   request with a valid bearer header is exempt, as no browser sends one
 *   on its own across sites.
 *
 * @module
 */

/** The cookie holding the login. */
export const SESSION_COOKIE = "sitq_dashboard";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}

/** Compares two strings in time that depends on their lengths only. */
export function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** A fresh random token, hex (for the CSRF token). */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The value of cookie `name` in a request, if any. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/** How a request proved it may see the dashboard. */
export type Access = "open" | "bearer" | "cookie" | "denied";

/** Checks a request against the dashboard's token. */
export class Guard {
  readonly #token: string | undefined;
  readonly #session: Promise<string> | undefined;
  /** The CSRF token every form of this dashboard carries. */
  readonly csrf: string = randomToken();

  constructor(token: string | undefined) {
    this.#token = token;
    // The cookie holds a digest salted with this dashboard's CSRF token:
    // a login ends when the process restarts.
    this.#session = token === undefined
      ? undefined
      : sha256Hex(`sitq-dashboard-session:${this.csrf}:${token}`);
  }

  /** Whether a token protects the dashboard. */
  get protected(): boolean {
    return this.#token !== undefined;
  }

  /** How `request` may see the dashboard. */
  async access(request: Request): Promise<Access> {
    if (this.#token === undefined) return "open";
    const header = request.headers.get("authorization") ?? "";
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (bearer !== undefined && sameText(bearer, this.#token)) return "bearer";
    const cookie = readCookie(request, SESSION_COOKIE);
    if (cookie !== undefined && sameText(cookie, await this.#session!)) {
      return "cookie";
    }
    return "denied";
  }

  /** Whether `candidate` (from the login form) is the token. */
  matches(candidate: string): boolean {
    return this.#token !== undefined && sameText(candidate, this.#token);
  }

  /** The session cookie's value after a login. */
  session(): Promise<string> {
    return this.#session ?? Promise.resolve("");
  }
}

/**
 * Whether a state-changing request comes from a page of the same origin:
 * its `Origin` host is the request's host (or one of `trustedOrigins`), or,
 * without `Origin`, `Sec-Fetch-Site` is `same-origin`. A request with
 * neither header (not from a browser) is refused: use the bearer header.
 */
export function sameOrigin(
  request: Request,
  trustedOrigins: readonly string[],
): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== "null") {
    if (trustedOrigins.includes(origin)) return true;
    try {
      // Hosts, not schemes: behind a TLS-terminating proxy the request URL
      // says http while the browser's origin says https.
      return new URL(origin).host === new URL(request.url).host;
    } catch {
      return false;
    }
  }
  return request.headers.get("sec-fetch-site") === "same-origin";
}
