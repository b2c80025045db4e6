/**
 * Where a PostgreSQL connection goes, as sitq names it in descriptions and
 * error messages: host, port and database, never the user's password (nor
 * the user: a label need not say who logs in).
 *
 * @module
 */

/** The server and database a backend talks to. */
export interface ConnectionTarget {
  /** Host name, address, or socket directory; undefined when unknown. */
  host: string | undefined;
  /** TCP port; undefined when unknown. */
  port: string | undefined;
  /** The database name; undefined when unknown (pg then uses the user's name). */
  database: string | undefined;
}

const UNKNOWN: ConnectionTarget = {
  host: undefined,
  port: undefined,
  database: undefined,
};

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The target of a `postgres://` or `postgresql://` URL. Anything else (a
 * libpq keyword string, a `socket:` URL) is left unknown rather than
 * guessed at: the label then says less, and still holds no secret.
 */
export function targetOfUrl(connectionString: string): ConnectionTarget {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return UNKNOWN;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return UNKNOWN;
  }
  const params = url.searchParams;
  const host = decode(url.hostname) || params.get("host") || "localhost";
  const database = decode(url.pathname.replace(/^\//, "")) ||
    params.get("dbname") || undefined;
  return {
    host,
    port: url.port || params.get("port") || "5432",
    database,
  };
}

/** The target of a `pg.Pool`, read from the config it keeps (`options`). */
export function targetOfPool(pool: object): ConnectionTarget {
  const options = (pool as { options?: unknown }).options;
  if (typeof options !== "object" || options === null) return UNKNOWN;
  const { connectionString, host, port, database } = options as Record<
    string,
    unknown
  >;
  if (typeof connectionString === "string") {
    return targetOfUrl(connectionString);
  }
  return {
    host: typeof host === "string" ? host : "localhost",
    port: typeof port === "number" || typeof port === "string"
      ? String(port)
      : "5432",
    database: typeof database === "string" ? database : undefined,
  };
}

/**
 * `host:port/database` as far as known, e.g. `127.0.0.1:5432/app`, or
 * `an unnamed server` when nothing is.
 */
export function formatTarget(target: ConnectionTarget): string {
  if (target.host === undefined) return "an unnamed server";
  const address = target.port === undefined
    ? target.host
    : `${target.host}:${target.port}`;
  return target.database === undefined
    ? address
    : `${address}/${target.database}`;
}
