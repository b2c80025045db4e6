/**
 * Opens a database with the `better-sqlite3` addon, used on Node versions
 * without `node:sqlite`.
 *
 * @module
 */
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
  default: new (path: string) => BetterDatabase;
}

/** Opens `path` with an already imported `better-sqlite3` module. */
export function openBetterSqlite3(
  module: BetterSqliteModule,
  path: string,
): NativeDatabase {
  const db = new module.default(path);
  return {
    prepare(sql) {
      const statement = db.prepare(sql);
      return { statement, reader: statement.reader };
    },
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
  };
}
