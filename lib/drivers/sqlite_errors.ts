/**
 * Turns the three drivers' differently shaped errors into one
 * {@linkcode DatabaseError} with a message that says what to do.
 *
 * bun:sqlite and better-sqlite3 set `code` to a name like `"SQLITE_BUSY"`;
 * node:sqlite sets `code: "ERR_SQLITE_ERROR"` and the numeric `errcode`. The
 * message text is the one thing all three share, so it decides.
 *
 * @module
 */
import { DatabaseError, SitqError } from "../core/errors.ts";

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.message}${typeof code === "string" ? ` ${code}` : ""}`;
  }
  return String(error);
}

/**
 * Maps a driver error to a {@linkcode DatabaseError}; sitq's own errors and
 * errors that are not SQLite conditions pass through unchanged.
 *
 * @param error What the driver threw.
 * @param path The database path, for the message.
 */
export function toDatabaseError(error: unknown, path: string): unknown {
  if (error instanceof SitqError) return error;
  const text = describe(error).toLowerCase();
  const where = path === ":memory:" ? "the in-memory database" : `"${path}"`;
  if (
    text.includes("file is not a database") || text.includes("sqlite_notadb")
  ) {
    return new DatabaseError(
      "NOT_A_DATABASE",
      `Cannot use ${where}: the file exists but is not an SQLite database; point sitq at a new path or at a database it created`,
      { cause: error },
    );
  }
  if (
    text.includes("database is locked") || text.includes("sqlite_busy") ||
    text.includes("database table is locked")
  ) {
    return new DatabaseError(
      "DATABASE_LOCKED",
      `Cannot write to ${where}: another connection held its lock longer than the busy timeout; retry, raise busyTimeout, or find the process keeping a long transaction open`,
      { cause: error },
    );
  }
  if (
    text.includes("malformed") || text.includes("sqlite_corrupt") ||
    text.includes("disk image")
  ) {
    return new DatabaseError(
      "DATABASE_CORRUPT",
      `Cannot read ${where}: the database file is corrupt; restore it from a backup or run "PRAGMA integrity_check" on it with the sqlite3 shell`,
      { cause: error },
    );
  }
  if (
    text.includes("unable to open") || text.includes("sqlite_cantopen") ||
    text.includes("readonly database") || text.includes("sqlite_readonly") ||
    // better-sqlite3 checks the directory itself, with its own wording.
    text.includes("directory does not exist")
  ) {
    return new DatabaseError(
      "CANNOT_OPEN",
      `Cannot open ${where}: check that its directory exists and that this process may read and write it (${
        describe(error)
      })`,
      { cause: error },
    );
  }
  if (
    text.includes("sqlite") || text.includes("disk i/o") ||
    text.includes("database or disk is full")
  ) {
    return new DatabaseError(
      "DATABASE",
      `SQLite failed on ${where}: ${describe(error)}`,
      { cause: error },
    );
  }
  return error;
}
