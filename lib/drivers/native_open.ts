/**
 * What every driver does right after it opens a native handle: set the busy
 * timeout before any other statement, and close the handle again if that or
 * anything else before the handle is handed over fails.
 *
 * @module
 */

/** The least of a native handle these helpers need. */
interface Closable {
  exec(sql: string): void;
  close(): void;
}

/**
 * Sets SQLite's busy timeout on a freshly opened handle. It must be the first
 * statement: the drivers' own defaults differ (0 ms on bun:sqlite and Node's
 * node:sqlite), and even preparing a statement can need a lock on a file that
 * another process is creating.
 *
 * @param db The native handle.
 * @param busyTimeout Milliseconds, a non-negative integer.
 */
export function setBusyTimeout(db: Closable, busyTimeout: number): void {
  db.exec(`pragma busy_timeout = ${Math.round(busyTimeout)}`);
}

/**
 * Runs `fn`; if it throws, closes `db` before rethrowing, so a failed open
 * never leaves a file descriptor (or a lock) behind until garbage collection.
 *
 * @param db The handle to close on failure.
 * @param fn The work that may fail.
 * @returns What `fn` returns.
 */
export function closeAfterFailure<T>(db: Closable, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    try {
      db.close();
    } catch {
      // The error that made us close is the one to report.
    }
    throw error;
  }
}
