/**
 * Opens a database with the `better-sqlite3` addon, used on Node versions
 * without `node:sqlite`.
 *
 * @module
 */
import { closeAfterFailure, setBusyTimeout } from "./native_open.ts";
import type { NativeDatabase, NativeStatement } from "./sqlite_shim.ts";

interface BetterStatement extends NativeStatement {
  readonly reader: boolean;
}

interface BetterDatabase {
  prepare(sql: string): BetterStatement;
  exec(sql: string): void;
  close(): void;
}

/** The shape of the `better-sqlite3` module that sitq uses. */
export interface BetterSqliteModule {
  default: new (path: string, options: { timeout: number }) => BetterDatabase;
}

/**
 * Opens `path` with an already imported `better-sqlite3` module; the busy
 * timeout is in force before the first statement runs.
 *
 * @param module `better-sqlite3`.
 * @param path A file path or `":memory:"`.
 * @param busyTimeout Milliseconds a statement waits for another
 * connection's lock.
 * @throws What the driver throws; no handle stays open when it does.
 */
export function openBetterSqlite3(
  module: BetterSqliteModule,
  path: string,
  busyTimeout: number,
): NativeDatabase {
  // The option sets the timeout inside the constructor (its default is 5000
  // ms); the pragma only confirms it, like on the other drivers.
  const db = new module.default(path, { timeout: busyTimeout });
  closeAfterFailure(db, () => setBusyTimeout(db, busyTimeout));
  return {
    prepare(sql) {
      const statement = db.prepare(sql);
      return { statement, reader: statement.reader };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}
