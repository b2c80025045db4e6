/**
 * Gives each runtime's synchronous SQLite binding the interface Kysely's
 * `SqliteDialect` expects (`prepare` returning `{ reader, all, run, iterate }`).
 *
 * The three drivers disagree on how positional parameters are passed
 * (node:sqlite takes only spread arguments), on booleans and `undefined`, and
 * on whether `close()` may be called twice; this file hides all of that.
 *
 * @module
 */
import type { SqliteDatabase, SqliteStatement } from "kysely";

/** Values every supported driver can bind. */
export type Bindable = null | number | bigint | string | Uint8Array;

/** The part of a native statement the shim calls. */
export interface NativeStatement {
  all(...params: Bindable[]): unknown[];
  run(
    ...params: Bindable[]
  ): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...params: Bindable[]): IterableIterator<unknown>;
  /**
   * Frees the statement now. Only drivers whose `close()` waits for live
   * statements need it (bun:sqlite closes lazily until every statement is
   * finalized, keeping the file and its write lock); others free statements
   * themselves.
   */
  finalize?(): void;
}

/** A native database reduced to what the shim needs from it. */
export interface NativeDatabase {
  /** Prepares `sql`; returns the statement and whether it yields rows. */
  prepare(sql: string): { statement: NativeStatement; reader: boolean };
  /** Runs one or more statements with no parameters and no result. */
  exec(sql: string): void;
  /** Closes the native handle; called at most once by the shim. */
  close(): void;
}

/** The SQLite database Kysely drives, plus what sitq adds around it. */
export interface ShimDatabase extends SqliteDatabase {
  /**
   * Runs SQL with no parameters outside Kysely and its transactions. sitq
   * itself sends everything through Kysely; tests use this to put the
   * connection in states Kysely would not (a transaction left open).
   */
  exec(sql: string): void;
  /** Forgets prepared statements, e.g. after a schema change. */
  clearStatementCache(): void;
  /** Which native driver is underneath: "bun:sqlite", "node:sqlite" or "better-sqlite3". */
  readonly driverName: string;
}

// Kysely prepares on every query; the cache makes a repeated query one
// sqlite3_step instead of a parse. The SQL sitq sends is a small, fixed set, so
// a modest bound only matters for user-driven variants such as list filters.
const STATEMENT_CACHE_LIMIT = 256;

function toBindable(value: unknown, index: number): Bindable {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (
    typeof value === "number" || typeof value === "bigint" ||
    typeof value === "string" || value instanceof Uint8Array
  ) return value;
  // node:sqlite binds a lone object as named parameters and silently writes
  // NULL, so anything else is refused loudly here.
  throw new TypeError(
    `Cannot bind SQL parameter ${
      index + 1
    }: a ${typeof value} is not a SQLite value`,
  );
}

function bindAll(params: ReadonlyArray<unknown>): Bindable[] {
  return params.map(toBindable);
}

function adapt(statement: NativeStatement, reader: boolean): SqliteStatement {
  return {
    reader,
    all: (params) => statement.all(...bindAll(params)),
    run: (params) => statement.run(...bindAll(params)),
    iterate: (params) => statement.iterate(...bindAll(params)),
  };
}

/**
 * Wraps a native database with a statement cache and an idempotent close.
 *
 * @param native The runtime's database, reduced to {@linkcode NativeDatabase}.
 * @param driverName A label reported by the backend, e.g. "node:sqlite".
 */
export function createShimDatabase(
  native: NativeDatabase,
  driverName: string,
): ShimDatabase {
  // Least recently used first out, by a use stamp rather than by moving
  // the entry to the end of the map at every use: a hit is then one lookup,
  // and the scan for the oldest happens only when a full cache misses.
  const cache = new Map<
    string,
    { adapted: SqliteStatement; native: NativeStatement; used: number }
  >();
  let uses = 0;
  let open = true;
  const forgetAll = () => {
    for (const { native } of cache.values()) native.finalize?.();
    cache.clear();
  };
  return {
    driverName,
    prepare(sql: string): SqliteStatement {
      const cached = cache.get(sql);
      if (cached !== undefined) {
        cached.used = ++uses;
        return cached.adapted;
      }
      const { statement, reader } = native.prepare(sql);
      const adapted = adapt(statement, reader);
      if (cache.size >= STATEMENT_CACHE_LIMIT) {
        let oldest: string | undefined;
        let oldestUse = Infinity;
        for (const [key, entry] of cache) {
          if (entry.used < oldestUse) {
            oldest = key;
            oldestUse = entry.used;
          }
        }
        if (oldest !== undefined) {
          cache.get(oldest)!.native.finalize?.();
          cache.delete(oldest);
        }
      }
      cache.set(sql, { adapted, native: statement, used: ++uses });
      return adapted;
    },
    clearStatementCache(): void {
      forgetAll();
    },
    exec(sql: string): void {
      // The SQL may change the schema, and statements prepared before that
      // can report stale column counts on node:sqlite (nodejs/node#64219).
      forgetAll();
      native.exec(sql);
    },
    close(): void {
      forgetAll();
      if (!open) return;
      open = false;
      native.close();
    },
  };
}
