/**
 * Opens a database with Bun's native `bun:sqlite`.
 *
 * @module
 */
import { closeAfterFailure, setBusyTimeout } from "./native_open.ts";
import { importRuntimeModule } from "../runtime/runtime.ts";
import type { Bindable, NativeDatabase } from "./sqlite_shim.ts";

interface BunStatement {
  readonly columnNames: string[];
  all(...params: Bindable[]): unknown[];
  run(
    ...params: Bindable[]
  ): { changes: number; lastInsertRowid: number | bigint };
  iterate(...params: Bindable[]): IterableIterator<unknown>;
  finalize(): void;
}

interface BunDatabase {
  prepare(sql: string): BunStatement;
  exec(sql: string): void;
  close(): void;
}

interface BunSqliteModule {
  Database: new (
    path: string,
    options: { create: boolean; strict: boolean },
  ) => BunDatabase;
}

/**
 * Opens `path` with `bun:sqlite`, creating the file if needed; the busy
 * timeout is in force before the first statement runs.
 *
 * @param path A file path or `":memory:"`.
 * @param busyTimeout Milliseconds a statement waits for another
 * connection's lock.
 * @throws What the driver throws; no handle stays open when it does.
 */
export async function openBunSqlite(
  path: string,
  busyTimeout: number,
): Promise<NativeDatabase> {
  const { Database } = await importRuntimeModule(
    "bun:sqlite",
  ) as BunSqliteModule;
  const db = new Database(path, { create: true, strict: true });
  closeAfterFailure(db, () => setBusyTimeout(db, busyTimeout));
  return {
    prepare(sql) {
      const statement = db.prepare(sql);
      return { statement, reader: statement.columnNames.length > 0 };
    },
    exec: (sql) => db.exec(sql),
    // The shim finalizes every statement it prepared first, so this closes
    // at once and releases the file (and any lock) now, not at GC.
    close: () => db.close(),
  };
}
