/**
 * Turns the three drivers' differently shaped errors into one
 * {@linkcode DatabaseError} with a message that says what to do.
 *
 * bun:sqlite and better-sqlite3 set `code` to a name like `"SQLITE_BUSY"` or
 * `"SQLITE_IOERR_WRITE"`; node:sqlite sets `code: "ERR_SQLITE_ERROR"` and the
 * numeric (extended) `errcode`. The result code decides where there is one;
 * the message text, which all three share, decides otherwise.
 *
 * @module
 */
import { statSync } from "node:fs";
import {
  DatabaseError,
  type DatabaseErrorCode,
  SitqError,
} from "../core/errors.ts";

/** The driver's message and result code, e.g. "disk I/O error SQLITE_IOERR_WRITE". */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const { code, errcode } = error as { code?: unknown; errcode?: unknown };
    // node:sqlite's `code` is always "ERR_SQLITE_ERROR"; its number says more.
    const detail = typeof errcode === "number"
      ? ` (SQLite result code ${errcode})`
      : typeof code === "string"
      ? ` ${code}`
      : "";
    return `${error.message}${detail}`;
  }
  return String(error);
}

/** The primary result codes sitq tells apart, by number. */
const PRIMARY_CODES: Readonly<Record<number, string>> = {
  5: "BUSY",
  6: "LOCKED",
  8: "READONLY",
  10: "IOERR",
  11: "CORRUPT",
  13: "FULL",
  14: "CANTOPEN",
  26: "NOTADB",
};

/**
 * SQLite's primary result code name ("BUSY", "FULL", "IOERR", …) carried by
 * a driver error, or undefined when it carries none.
 */
function primaryCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    // "SQLITE_IOERR_WRITE" is an extended code of "SQLITE_IOERR".
    return code.slice("SQLITE_".length).split("_")[0];
  }
  if (typeof errcode === "number") {
    // Extended codes keep the primary code in their low byte.
    return PRIMARY_CODES[errcode & 0xff] ?? "OTHER";
  }
  return undefined;
}

/** Where a failed call stood when its error is mapped, for the message. */
export interface ErrorContext {
  /** Milliseconds from the start of the failed call to its failure. */
  elapsedMs?: number;
  /** The busy timeout in force, in milliseconds. */
  busyTimeout?: number;
}

function lockedDetail(context: ErrorContext): string {
  const { elapsedMs, busyTimeout } = context;
  if (elapsedMs !== undefined && busyTimeout !== undefined) {
    return ` (the call failed after ${
      Math.round(elapsedMs)
    } ms; busyTimeout is ${busyTimeout} ms)`;
  }
  if (busyTimeout !== undefined) return ` (busyTimeout is ${busyTimeout} ms)`;
  return "";
}

/** One condition sitq tells apart, how to recognise it, and what to say. */
interface Condition {
  /** SQLite primary result codes that mean it ("BUSY", …); checked first. */
  readonly resultCodes: readonly string[];
  /** Lower-case fragments of the message that mean it, for errors without a result code. */
  readonly texts: readonly string[];
  /** The `DatabaseError` code reported. */
  readonly code: DatabaseErrorCode;
  /**
   * The message: what happened to `where` and what to do.
   *
   * @param where "the in-memory database" or the quoted path.
   * @param detail The driver's message and result code.
   */
  message(where: string, detail: string, context: ErrorContext): string;
}

/**
 * The conditions, in the order their message texts are tried: a result code
 * decides where there is one, then the first condition whose text matches.
 */
const CONDITIONS: readonly Condition[] = [
  {
    // Deno's permission check, before SQLite sees the file at all.
    resultCodes: [],
    texts: ["requires read access", "requires write access"],
    code: "CANNOT_OPEN",
    message: (where, detail) =>
      `Cannot open ${where}: Deno did not grant access to it; run with --allow-read and --allow-write for the directory that holds it (SQLite also keeps -wal and -shm files there), e.g. --allow-read=./data --allow-write=./data (${detail})`,
  },
  {
    resultCodes: ["NOTADB"],
    texts: ["file is not a database"],
    code: "NOT_A_DATABASE",
    message: (where) =>
      `Cannot use ${where}: the file exists but is not an SQLite database; point sitq at a new path or at a database it created`,
  },
  {
    resultCodes: ["BUSY", "LOCKED"],
    texts: ["database is locked", "database table is locked"],
    code: "DATABASE_LOCKED",
    message: (where, _detail, context) =>
      `Cannot use ${where}: another connection kept the database locked${
        lockedDetail(context)
      }; retry, raise busyTimeout, or find the process keeping a long transaction open`,
  },
  {
    resultCodes: ["CORRUPT"],
    texts: ["malformed", "disk image"],
    code: "DATABASE_CORRUPT",
    message: (where) =>
      `Cannot read ${where}: the database file is corrupt; restore it from a backup or run "PRAGMA integrity_check" on it with the sqlite3 shell`,
  },
  {
    resultCodes: ["FULL"],
    texts: ["database or disk is full"],
    code: "DISK_FULL",
    message: (where, detail) =>
      `Cannot write to ${where}: the disk holding it is full (or the database reached its size limit); free space, then retry. The failed write changed nothing and everything committed before it is intact (${detail})`,
  },
  {
    resultCodes: ["READONLY"],
    texts: ["readonly database"],
    code: "READ_ONLY",
    message: (where, detail) =>
      `Cannot write to ${where}: this process may only read it (the file, its directory or its filesystem is read-only; sitq also creates the -wal and -shm files beside it); give this process write access or use a writable path (${detail})`,
  },
  {
    resultCodes: ["IOERR"],
    texts: ["disk i/o error"],
    code: "IO_ERROR",
    message: (where, detail) =>
      `Cannot use ${where}: the operating system reported an I/O error; check the disk and its filesystem (kernel log, a network or removable drive that went away, a file size limit), then retry. A write that failed this way changed nothing (${detail})`,
  },
  {
    resultCodes: ["CANTOPEN"],
    // better-sqlite3 checks the directory itself, with its own wording.
    texts: ["unable to open", "directory does not exist"],
    code: "CANNOT_OPEN",
    message: (where, detail) =>
      `Cannot open ${where}: check that its directory exists and that this process may read and write it (${detail})`,
  },
];

/** The condition of a file SQLite could not open. */
const CANT_OPEN = CONDITIONS.find((condition) =>
  condition.resultCodes.includes("CANTOPEN")
);

/** Whether `path` names an existing directory (false if it cannot be read). */
function isDirectory(path: string): boolean {
  if (path === ":memory:") return false;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The condition `error` reports; "other" for an SQLite failure none of them
 * names; undefined for an error that is not SQLite's.
 */
function classify(error: unknown): Condition | "other" | undefined {
  const resultCode = primaryCode(error);
  const byCode = resultCode === undefined
    ? undefined
    : CONDITIONS.find((condition) =>
      condition.resultCodes.includes(resultCode)
    );
  if (byCode !== undefined) return byCode;
  const text = describe(error).toLowerCase();
  const byText = CONDITIONS.find((condition) =>
    condition.texts.some((fragment) => text.includes(fragment))
  );
  if (byText !== undefined) return byText;
  if (resultCode !== undefined || text.includes("sqlite")) return "other";
  return undefined;
}

/**
 * Maps a driver error to a {@linkcode DatabaseError}; sitq's own errors and
 * errors that are not SQLite conditions pass through unchanged. The driver's
 * error is kept as `cause`.
 *
 * @param error What the driver threw.
 * @param path The database path, for the message.
 * @param context Timing of the failed call, for a lock's message.
 */
export function toDatabaseError(
  error: unknown,
  path: string,
  context: ErrorContext = {},
): unknown {
  const where = path === ":memory:" ? "the in-memory database" : `"${path}"`;
  if (
    error instanceof DatabaseError && error.code === "SCHEMA_TOO_NEW" &&
    /^Cannot open the database\b/.test(error.message)
  ) {
    // The schema check runs inside a transaction that does not know the
    // path; every other DatabaseError names it, so this one does too.
    return new DatabaseError(
      error.code,
      error.message.replace(
        /^Cannot open the database\b/,
        `Cannot open ${where}`,
      ),
      { cause: error },
    );
  }
  if (error instanceof SitqError) return error;
  const condition = classify(error);
  if (condition === undefined) return error;
  const options = { cause: error };
  if (condition === CANT_OPEN && isDirectory(path)) {
    // SQLite says only "unable to open database file", which reads as a
    // missing directory; the usual cause here is a directory at the path.
    return new DatabaseError(
      "CANNOT_OPEN",
      `Cannot open ${where}: it is a directory, not a database file; give the path of a file inside it (sitq creates the file), such as "${path}/tasks.db" (${
        describe(error)
      })`,
      options,
    );
  }
  if (condition === "other") {
    return new DatabaseError(
      "DATABASE",
      `SQLite failed on ${where}: ${describe(error)}`,
      options,
    );
  }
  return new DatabaseError(
    condition.code,
    condition.message(where, describe(error), context),
    options,
  );
}

/**
 * Whether `error` (a driver's, or a {@linkcode DatabaseError} made from one)
 * is SQLite reporting another connection's lock: the condition that a retry
 * can cure once the other connection lets go.
 */
export function isLockedError(error: unknown): boolean {
  if (error instanceof DatabaseError) return error.code === "DATABASE_LOCKED";
  const condition = classify(error);
  return typeof condition === "object" &&
    condition.code === "DATABASE_LOCKED";
}
