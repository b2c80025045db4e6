/**
 * Turns what node-postgres throws into one {@linkcode DatabaseError} with a
 * message that says what to do.
 *
 * Three kinds of error reach here: the server's (a `DatabaseError` of
 * `pg-protocol`, with the SQLSTATE in `code`), the socket's (Node-style
 * system errors, `code` such as `ECONNREFUSED`, on every runtime's `node:net`)
 * and `pg`'s own (plain `Error`s known by their text, such as "Connection
 * terminated unexpectedly"). None of them carries the password, and neither
 * do the messages made here: the server is named by host, port and
 * database only.
 *
 * @module
 */
import {
  DatabaseError,
  type DatabaseErrorCode,
  SitqError,
} from "../../core/errors.ts";

/** Where the failed call went and how long it took, for the message. */
export interface PgErrorContext {
  /** `PostgreSQL at host:port/db`, the server as messages name it. */
  where: string;
  /** The database name, for `DATABASE_NOT_FOUND`'s advice. */
  database: string | undefined;
  /** The schema sitq's tables live in. */
  schema: string;
  /** Milliseconds from the start of the failed call to its failure. */
  elapsedMs?: number;
  /** The `statementTimeout` in force (ms; 0: the server's own). */
  statementTimeout: number;
  /** The `connectionTimeout` in force (ms; 0: none). */
  connectionTimeout: number;
}

/** The SQLSTATE or system error code of `error`, if it has one. */
function codeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === "string") return code;
  // Node's "happy eyeballs" connect reports an AggregateError of one error
  // per address tried.
  if (Array.isArray(errors) && errors.length > 0) return codeOf(errors[0]);
  return undefined;
}

/** The driver's own words, with the code: "connect ECONNREFUSED … (ECONNREFUSED)". */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = codeOf(error);
  const message = error.message ||
    ((error as { errors?: unknown }).errors as Error[] | undefined)?.[0]
      ?.message ||
    error.name;
  return code === undefined || message.includes(code)
    ? message
    : `${message} (${code})`;
}

/** What a failed call was, as the rules below match it. */
interface Failure {
  code: string | undefined;
  text: string;
  context: PgErrorContext;
  detail: string;
}

interface Rule {
  matches(failure: Failure): boolean;
  code: DatabaseErrorCode;
  message(failure: Failure): string;
}

const SOCKET_FAILED = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ETIMEDOUT",
  "ENOENT", // a Unix socket that is not there
]);
const SOCKET_LOST = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
/** `pg`'s and `pg-pool`'s words for a connect that took too long. */
const CONNECT_TIMEOUT_TEXTS = [
  "timeout expired",
  "connection timeout",
  "timeout exceeded when trying to connect",
];
/** `pg`'s words for a connection that ended while in use. */
const LOST_TEXTS = [
  "connection terminated",
  "not queryable",
  "connection ended",
];

const RULES: readonly Rule[] = [
  {
    matches: ({ code }) => code === "28P01" || code === "28000",
    code: "AUTHENTICATION_FAILED",
    message: ({ context, detail }) =>
      `Cannot log in to ${context.where}: the server refused the user or password (${detail}); check the credentials in the connection URL and the server's pg_hba.conf`,
  },
  {
    // The server asked for a password and the URL gave none: pg's own
    // error, before any SQLSTATE.
    matches: ({ code, text }) =>
      code === undefined &&
      (text.includes("sasl") || text.includes("password")),
    code: "AUTHENTICATION_FAILED",
    message: ({ context, detail }) =>
      `Cannot log in to ${context.where}: the server asks for a password and none could be sent (${detail}); put the password in the connection URL or in PGPASSWORD`,
  },
  {
    matches: ({ code }) => code === "3D000",
    code: "DATABASE_NOT_FOUND",
    message: ({ context, detail }) =>
      `Cannot open ${context.where}: the server has no database ${
        context.database === undefined
          ? "of that name"
          : `"${context.database}"`
      } (${detail}); create it with \`createdb ${
        context.database ?? "<name>"
      }\` or fix the database name in the URL`,
  },
  {
    matches: ({ code }) => code === "57014",
    code: "STATEMENT_TIMEOUT",
    message: ({ context, detail }) =>
      `A statement on ${context.where} was cancelled${
        context.statementTimeout > 0
          ? ` after running past statementTimeout (${context.statementTimeout} ms)`
          : ""
      } (${detail}); the write it belonged to changed nothing. Raise statementTimeout, or find the long transaction holding the rows it waited for`,
  },
  {
    matches: ({ code }) =>
      code === "57P01" || code === "57P02" || code === "57P03",
    code: "CONNECTION_LOST",
    message: ({ context, detail }) =>
      `Lost the connection to ${context.where}: the server is shutting down, restarting or starting up (${detail}); the failed call is safe to retry, and workers retry by themselves once the server accepts connections again`,
  },
  {
    matches: ({ code, text }) =>
      (code !== undefined && SOCKET_LOST.has(code)) ||
      (LOST_TEXTS.some((fragment) => text.includes(fragment)) &&
        !CONNECT_TIMEOUT_TEXTS.some((fragment) => text.includes(fragment))),
    code: "CONNECTION_LOST",
    message: ({ context, detail }) =>
      `Lost the connection to ${context.where} while using it (${detail}); the server went away or the network failed. The failed call is safe to retry, and workers retry by themselves; check the server if this persists`,
  },
  {
    matches: ({ code, text }) =>
      code === "53300" || text.includes("too many clients"),
    code: "CONNECTION_FAILED",
    message: ({ context, detail }) =>
      `Cannot connect to ${context.where}: the server has no free connection slot (${detail}); lower maxConnections on this and other backends, or raise the server's max_connections`,
  },
  {
    matches: ({ code, text }) =>
      CONNECT_TIMEOUT_TEXTS.some((fragment) => text.includes(fragment)) ||
      code === "ETIMEDOUT",
    code: "CONNECTION_FAILED",
    message: ({ context, detail }) =>
      `Cannot connect to ${context.where}: no connection within ${
        context.connectionTimeout > 0
          ? `connectionTimeout (${context.connectionTimeout} ms)`
          : "the system's timeout"
      } (${detail}); check that the server is running and reachable from here (host, port, firewall), or raise connectionTimeout`,
  },
  {
    matches: ({ code }) =>
      code !== undefined && (SOCKET_FAILED.has(code) || code.startsWith("08")),
    code: "CONNECTION_FAILED",
    message: ({ context, detail }) =>
      `Cannot connect to ${context.where} (${detail}); check that the server is running and accepts connections at that host and port, and that the connection URL is right`,
  },
  {
    matches: ({ code }) => code === "53100",
    code: "DISK_FULL",
    message: ({ context, detail }) =>
      `Cannot write to ${context.where}: the server's disk is full (${detail}); free space on the server, then retry. The failed write changed nothing`,
  },
  {
    matches: ({ code }) => code === "25006",
    code: "READ_ONLY",
    message: ({ context, detail }) =>
      `Cannot write to ${context.where}: the server only allows reads (${detail}), as a standby does; point sitq at the primary`,
  },
  {
    matches: ({ code }) => code === "58030",
    code: "IO_ERROR",
    message: ({ context, detail }) =>
      `Cannot use ${context.where}: the server reported an I/O error (${detail}); check the server's disk and log. The failed write changed nothing`,
  },
  {
    matches: ({ code }) => code === "XX001" || code === "XX002",
    code: "DATABASE_CORRUPT",
    message: ({ context, detail }) =>
      `Cannot read ${context.where}: the server reports corrupt data (${detail}); check the server's log and restore from a backup`,
  },
  {
    matches: ({ code }) => code === "42501",
    code: "DATABASE",
    message: ({ context, detail }) =>
      `Cannot use schema "${context.schema}" on ${context.where}: the role lacks a privilege (${detail}); grant it USAGE and CREATE on the schema (CREATE on the database, to let sitq create the schema) and read and write on its sitq_ tables`,
  },
];

/**
 * Maps a `pg` error to a {@linkcode DatabaseError}; sitq's own errors pass
 * through, and so does anything that is not a database or connection error
 * (a bug, say), so it is not disguised. The driver's error is kept as
 * `cause`.
 */
export function toPostgresError(
  error: unknown,
  context: PgErrorContext,
): unknown {
  if (error instanceof SitqError) return error;
  if (!(error instanceof Error)) return error;
  const code = codeOf(error);
  const failure: Failure = {
    code,
    text: describe(error).toLowerCase(),
    context,
    detail: describe(error),
  };
  const rule = RULES.find((candidate) => candidate.matches(failure));
  if (rule !== undefined) {
    return new DatabaseError(rule.code, rule.message(failure), {
      cause: error,
    });
  }
  // The server's other errors (an SQLSTATE is five characters).
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return new DatabaseError(
      "DATABASE",
      `${context.where} reported an error: ${failure.detail}`,
      { cause: error },
    );
  }
  return error;
}

/**
 * Whether `error` says the server is starting up (57P03, "the database
 * system is starting up"): a new try soon can succeed.
 */
export function isStartingUp(error: unknown): boolean {
  const cause = error instanceof DatabaseError ? error.cause : error;
  return codeOf(cause) === "57P03";
}
