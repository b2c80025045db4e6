/**
 * Opens a database with `node:sqlite` (`DatabaseSync`), used on Deno and on
 * Node >= 22.16.
 *
 * @module
 */
import { closeAfterFailure, setBusyTimeout } from "./native_open.ts";
import type { NativeDatabase, NativeStatement } from "./sqlite_shim.ts";

interface NodeStatement extends NativeStatement {
  columns(): unknown[];
}

interface NodeDatabase {
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

/** The shape of the `node:sqlite` module that sitq uses. */
export interface NodeSqliteModule {
  DatabaseSync: new (
    path: string,
    options: { timeout: number },
  ) => NodeDatabase;
  StatementSync?: { prototype: { columns?: unknown } };
}

/**
 * Whether this `node:sqlite` can serve sitq: it needs
 * `StatementSync.columns()` (Node >= 22.16, Deno >= 2.2) to tell statements
 * that return rows from those that do not. Decided from the module alone, so
 * an unusable one is refused before any file is opened.
 */
export function isUsableNodeSqlite(module: NodeSqliteModule): boolean {
  return typeof module.StatementSync?.prototype.columns === "function";
}

/**
 * Opens `path` with an already imported, usable `node:sqlite` module; the
 * busy timeout is in force before the first statement runs.
 *
 * @param module `node:sqlite`, checked with {@linkcode isUsableNodeSqlite}.
 * @param path A file path or `":memory:"`.
 * @param busyTimeout Milliseconds a statement waits for another
 * connection's lock.
 * @throws What the driver throws; no handle stays open when it does.
 */
export function openNodeSqlite(
  module: NodeSqliteModule,
  path: string,
  busyTimeout: number,
): NativeDatabase {
  // Node >= 22.16 sets the timeout inside the constructor; Deno ignores the
  // option, so the pragma sets it there (and confirms it everywhere).
  const db = new module.DatabaseSync(path, { timeout: busyTimeout });
  closeAfterFailure(db, () => setBusyTimeout(db, busyTimeout));
  return {
    prepare(sql) {
      const statement = db.prepare(sql);
      return { statement, reader: statement.columns().length > 0 };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}
