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
import { DatabaseError, SitqError } from "../core/errors.ts";

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

type Condition =
  | "NOT_A_DATABASE"
  | "LOCKED"
  | "CORRUPT"
  | "FULL"
  | "READ_ONLY"
  | "IO"
  | "CANNOT_OPEN"
  | "PERMISSION"
  | "OTHER";

function classify(error: unknown): Condition | undefined {
  switch (primaryCode(error)) {
    case "NOTADB":
      return "NOT_A_DATABASE";
    case "BUSY":
    case "LOCKED":
      return "LOCKED";
    case "CORRUPT":
      return "CORRUPT";
    case "FULL":
      return "FULL";
    case "READONLY":
      return "READ_ONLY";
    case "IOERR":
      return "IO";
    case "CANTOPEN":
      return "CANNOT_OPEN";
  }
  const text = describe(error).toLowerCase();
  // Deno's permission check, before SQLite sees the file at all.
  if (
    text.includes("requires read access") ||
    text.includes("requires write access")
  ) return "PERMISSION";
  if (text.includes("file is not a database")) return "NOT_A_DATABASE";
  if (
    text.includes("database is locked") ||
    text.includes("database table is locked")
  ) return "LOCKED";
  if (text.includes("malformed") || text.includes("disk image")) {
    return "CORRUPT";
  }
  if (text.includes("database or disk is full")) return "FULL";
  if (text.includes("readonly database")) return "READ_ONLY";
  if (text.includes("disk i/o error")) return "IO";
  if (
    text.includes("unable to open") ||
    // better-sqlite3 checks the directory itself, with its own wording.
    text.includes("directory does not exist")
  ) return "CANNOT_OPEN";
  if (primaryCode(error) !== undefined || text.includes("sqlite")) {
    return "OTHER";
  }
  return undefined;
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
  if (error instanceof SitqError) return error;
  const condition = classify(error);
  if (condition === undefined) return error;
  const where = path === ":memory:" ? "the in-memory database" : `"${path}"`;
  const options = { cause: error };
  switch (condition) {
    case "NOT_A_DATABASE":
      return new DatabaseError(
        "NOT_A_DATABASE",
        `Cannot use ${where}: the file exists but is not an SQLite database; point sitq at a new path or at a database it created`,
        options,
      );
    case "LOCKED":
      return new DatabaseError(
        "DATABASE_LOCKED",
        `Cannot use ${where}: another connection kept the database locked${
          lockedDetail(context)
        }; retry, raise busyTimeout, or find the process keeping a long transaction open`,
        options,
      );
    case "CORRUPT":
      return new DatabaseError(
        "DATABASE_CORRUPT",
        `Cannot read ${where}: the database file is corrupt; restore it from a backup or run "PRAGMA integrity_check" on it with the sqlite3 shell`,
        options,
      );
    case "FULL":
      return new DatabaseError(
        "DISK_FULL",
        `Cannot write to ${where}: the disk holding it is full (or the database reached its size limit); free space, then retry. The failed write changed nothing and everything committed before it is intact (${
          describe(error)
        })`,
        options,
      );
    case "READ_ONLY":
      return new DatabaseError(
        "READ_ONLY",
        `Cannot write to ${where}: this process may only read it (the file, its directory or its filesystem is read-only; sitq also creates the -wal and -shm files beside it); give this process write access or use a writable path (${
          describe(error)
        })`,
        options,
      );
    case "IO":
      return new DatabaseError(
        "IO_ERROR",
        `Cannot use ${where}: the operating system reported an I/O error; check the disk and its filesystem (kernel log, a network or removable drive that went away, a file size limit), then retry. A write that failed this way changed nothing (${
          describe(error)
        })`,
        options,
      );
    case "PERMISSION":
      return new DatabaseError(
        "CANNOT_OPEN",
        `Cannot open ${where}: Deno did not grant access to it; run with --allow-read and --allow-write for the directory that holds it (SQLite also keeps -wal and -shm files there), e.g. --allow-read=./data --allow-write=./data (${
          describe(error)
        })`,
        options,
      );
    case "CANNOT_OPEN":
      return new DatabaseError(
        "CANNOT_OPEN",
        `Cannot open ${where}: check that its directory exists and that this process may read and write it (${
          describe(error)
        })`,
        options,
      );
    case "OTHER":
      return new DatabaseError(
        "DATABASE",
        `SQLite failed on ${where}: ${describe(error)}`,
        options,
      );
  }
}

/**
 * Whether `error` (a driver's, or a {@linkcode DatabaseError} made from one)
 * is SQLite reporting another connection's lock: the condition that a retry
 * can cure once the other connection lets go.
 */
export function isLockedError(error: unknown): boolean {
  if (error instanceof DatabaseError) return error.code === "DATABASE_LOCKED";
  return classify(error) === "LOCKED";
}
