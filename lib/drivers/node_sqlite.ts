/**
 * Opens a database with `node:sqlite` (`DatabaseSync`), used on Deno and on
 * Node >= 22.13.
 *
 * @module
 */
import type { NativeDatabase, NativeStatement } from "./sqlite_shim.ts";

interface NodeStatement extends NativeStatement {
  columns?: () => unknown[];
}

interface NodeDatabase {
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

/** The shape of the `node:sqlite` module that sitq uses. */
export interface NodeSqliteModule {
  DatabaseSync: new (path: string) => NodeDatabase;
}

/** Thrown when `node:sqlite` exists but lacks `StatementSync.columns()` (Node < 22.16). */
export class NodeSqliteTooOldError extends Error {}

/** Opens `path` with an already imported `node:sqlite` module. */
export function openNodeSqlite(
  module: NodeSqliteModule,
  path: string,
): NativeDatabase {
  const db = new module.DatabaseSync(path);
  return {
    prepare(sql) {
      const statement = db.prepare(sql);
      if (typeof statement.columns !== "function") {
        db.close();
        throw new NodeSqliteTooOldError(
          "node:sqlite lacks StatementSync.columns() (Node < 22.16)",
        );
      }
      return { statement, reader: statement.columns().length > 0 };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}
