/**
 * Opens an SQLite file with the runtime's own binding, not through sitq, for
 * the SQLite-only tests that must see or shape what is on disk: bun:sqlite on
 * Bun, node:sqlite on Deno and Node 22+, better-sqlite3 on Node 20.
 *
 * @module
 */

/** What the three bindings share, and all the tests need. */
export interface RawDatabase {
  /** Runs SQL statements that return nothing. */
  exec(sql: string): void;
  /** A statement to run with positional parameters. */
  prepare(sql: string): {
    all(...params: unknown[]): unknown[];
    run(...params: unknown[]): unknown;
  };
  /** Closes the file. */
  close(): void;
}

type RawConstructor = new (path: string) => RawDatabase;

/**
 * Imports `specifier`'s export `name`. The specifier is a variable so that
 * no runtime (and no type check) sees a static import of another runtime's
 * module.
 */
async function load(specifier: string, name: string): Promise<RawConstructor> {
  const module = await import(specifier) as Record<string, RawConstructor>;
  return module[name]!;
}

/** The SQLite binding of the runtime running this code. */
function binding(): [specifier: string, name: string] {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  if (runtime.Bun !== undefined) return ["bun:sqlite", "Database"];
  const major = Number(process.versions.node.split(".")[0]);
  if (runtime.Deno !== undefined || major >= 22) {
    return ["node:sqlite", "DatabaseSync"];
  }
  return ["better-sqlite3", "default"];
}

/** Runs `fn` on `path` opened with the runtime's own binding, then closes it. */
export async function withRawSqlite<T>(
  path: string,
  fn: (db: RawDatabase) => T,
): Promise<T> {
  const Database = await load(...binding());
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
