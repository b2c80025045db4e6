/**
 * Everything SQLite-specific about storing tasks, as one
 * {@linkcode SqlDialect}: the connection and its pragmas on whichever driver
 * the runtime has, `BEGIN IMMEDIATE` transactions, the per-file write mutex,
 * retries of an open that met a lock, the `data_version` probe and the
 * write-ahead-log watch (steps 2 and 3 of the wake-up path in
 * `change_feed.ts`), relaxed commits, the synchronous write path
 * (`write_now.ts`), the error map and the migrations.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CompiledQuery, Kysely, sql, type Transaction } from "kysely";
import { ImmediateSqliteDialect } from "../../drivers/immediate_sqlite_dialect.ts";
import { openSqlite } from "../../drivers/open_sqlite.ts";
import type { ShimDatabase } from "../../drivers/sqlite_shim.ts";
import { isLockedError, toDatabaseError } from "../../drivers/sqlite_errors.ts";
import type { WriteWatcher } from "../change_feed.ts";
import type { ErrorTiming, SqlDialect, WriteNowOptions } from "../dialect.ts";
import type { SitqSchema } from "../schema.ts";
import type { WriteProgram } from "../write_program.ts";
import { AsyncMutex } from "./async_mutex.ts";
import { watchFile } from "./file_watch.ts";
import { migrate } from "./migrations.ts";
import { writeNowOn } from "./write_now.ts";

/** The settings the dialect needs, already checked and defaulted. */
export interface SqliteDialectSettings {
  /** Milliseconds a statement waits for another connection's lock. */
  busyTimeout: number;
  /** Bytes the write-ahead log is cut back to (`journal_size_limit`). */
  walSizeLimit: number;
  /** The durability of each commit. */
  synchronous: "full" | "normal";
}

/** The longest pause, in milliseconds, between two tries of an open. */
const MAX_OPEN_RETRY_PAUSE = 50;

// Writers in one process must not wait for each other inside SQLite: the
// drivers are synchronous, so a busy wait blocks the event loop and with it
// the transaction being waited for. One mutex per file path serialises them.
const writeLocks = new Map<string, AsyncMutex>();

/**
 * The file a path names, so "db/t.db", "./db/t.db", its absolute form and a
 * symlinked directory share one lock. The file itself may not exist yet, so
 * only its directory is resolved through symlinks.
 */
function canonicalPath(path: string): string {
  const absolute = resolve(path);
  try {
    return join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    return absolute; // the directory is missing: opening will say so
  }
}

function writeLockFor(path: string): AsyncMutex {
  const key = canonicalPath(path);
  let mutex = writeLocks.get(key);
  if (mutex === undefined) {
    mutex = new AsyncMutex();
    writeLocks.set(key, mutex);
  }
  return mutex;
}

/** SQLite as a {@linkcode SqlDialect}: one file, or `:memory:`. */
export class SqliteDialect implements SqlDialect {
  readonly description: string;
  // SQLite runs one write transaction at a time per file, and every write
  // here begins IMMEDIATE, so claims cannot interleave.
  readonly claimLocking = "serialized-writer";
  readonly watchWrites: WriteWatcher | undefined;
  readonly relaxedCommit: SqlDialect["relaxedCommit"];

  readonly #path: string;
  readonly #settings: SqliteDialectSettings;
  /**
   * The per-file mutex (a private in-memory database has its own): every
   * Kysely transaction on the connection runs under it, so a write that
   * runs straight on the connection (writeNow) never lands inside one.
   */
  readonly #lock: AsyncMutex;
  readonly #pragmas: readonly string[];
  /** The open driver handle, once there is one. */
  #shim: ShimDatabase | undefined;
  /** What the last `data_version` probe read; undefined before the first. */
  #dataVersion: number | undefined;

  /**
   * @param path A file path or `":memory:"`.
   * @param settings Checked settings (see `SQLiteBackendOptions`).
   */
  constructor(path: string, settings: SqliteDialectSettings) {
    const memory = path === ":memory:";
    this.#path = path;
    this.#settings = settings;
    this.#lock = memory ? new AsyncMutex() : writeLockFor(path);
    this.description = memory ? "SQLite :memory:" : `SQLite "${path}"`;
    // The driver sets the busy timeout when it opens, before these run.
    this.#pragmas = [
      `pragma journal_mode = wal`,
      `pragma journal_size_limit = ${settings.walSizeLimit}`,
      `pragma synchronous = ${settings.synchronous}`,
      `pragma foreign_keys = on`,
    ];
    // Every commit appends to the write-ahead log, whoever makes it, so a
    // watch on it wakes idle workers of other processes within milliseconds
    // instead of a poll interval, and lets them poll rarely.
    this.watchWrites = memory
      ? undefined
      : (onWrite, onLost) =>
        watchFile(`${canonicalPath(path)}-wal`, onWrite, onLost);
    // With `normal`, every commit is relaxed already.
    this.relaxedCommit = settings.synchronous === "full"
      ? withSynchronousNormal
      : undefined;
  }

  /** The driver in use, e.g. "bun:sqlite"; undefined until opened. */
  get driverName(): string | undefined {
    return this.#shim?.driverName;
  }

  createKysely(): Kysely<SitqSchema> {
    return new Kysely<SitqSchema>({
      dialect: new ImmediateSqliteDialect({
        database: async () => {
          this.#shim = await openSqlite(this.#path, {
            busyTimeout: this.#settings.busyTimeout,
          });
          return this.#shim;
        },
        onCreateConnection: async (db) => {
          try {
            for (const pragma of this.#pragmas) {
              await db.executeQuery(CompiledQuery.raw(pragma));
            }
          } catch (error) {
            // Kysely forgets a connection whose setup failed, so its
            // destroy() would not close this handle: close it here.
            this.#shim?.close();
            throw error;
          }
        },
      }),
    });
  }

  migrate(trx: Transaction<SitqSchema>): Promise<number> {
    return migrate(trx);
  }

  withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.lock(fn);
  }

  /**
   * Runs the write on the driver's connection within this turn (see
   * `write_now.ts`), or once the write lock is free. With nobody holding
   * or awaiting the lock, taking it is skipped: the write starts and ends
   * before anyone else could take it.
   */
  writeNow<T>(
    program: () => WriteProgram<T>,
    { durable }: WriteNowOptions,
  ): T | Promise<T> {
    const write = () => {
      const shim = this.#shim;
      if (shim === undefined) {
        throw new Error("Cannot write: the database is not open");
      }
      return writeNowOn(shim, program, {
        relaxed: !durable && this.#settings.synchronous === "full",
        // A subclass may parse rows (SqlDialect.parseRow); SQLite itself does not.
        parseRow: (this as SqlDialect).parseRow?.bind(this),
      });
    };
    return this.#lock.free ? write() : this.#lock.lock(write);
  }

  retryOpen<T>(open: () => Promise<T>): Promise<T> {
    return retryWhileLocked(open, this.#settings.busyTimeout);
  }

  afterMigrate(): void {
    // Statements prepared against the pre-migration schema can be stale.
    this.#shim?.clearStatementCache();
  }

  /**
   * `PRAGMA data_version` changes only when another connection commits, so
   * an idle worker learns of new work without touching the table.
   */
  async hasExternalChanges(db: Kysely<SitqSchema>): Promise<boolean> {
    const { rows } = await sql<{ data_version: number }>`pragma data_version`
      .execute(db);
    const version = Number(rows[0]?.data_version);
    // The first probe has nothing to compare with, yet another process may
    // have committed since the subscriber last read (a worker's claim found
    // nothing, then a task arrived before this probe): report a change, so
    // that commit is not missed until the worker's next poll.
    const changed = this.#dataVersion === undefined ||
      version !== this.#dataVersion;
    this.#dataVersion = version;
    return changed;
  }

  mapError(error: unknown, timing: ErrorTiming): unknown {
    return toDatabaseError(error, this.#path, {
      ...timing,
      busyTimeout: this.#settings.busyTimeout,
    });
  }
}

/**
 * Runs `fn` on one connection with `synchronous = normal`, then back to
 * `full`. SQLite refuses to change the safety level inside a transaction, so
 * the switch wraps it, on one connection held throughout: no other
 * statement of this backend can commit while the level is lowered.
 */
function withSynchronousNormal<T>(
  db: Kysely<SitqSchema>,
  fn: (connection: Kysely<SitqSchema>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (connection) => {
    await sql`pragma synchronous = normal`.execute(connection);
    const restore = () => sql`pragma synchronous = full`.execute(connection);
    let result;
    try {
      result = await fn(connection);
    } catch (error) {
      // Restore the level, but report why the write failed.
      await restore().catch(() => {});
      throw error;
    }
    await restore();
    return result;
  });
}

/**
 * Runs `open` again while it fails with SQLITE_BUSY, until `busyTimeout` ms
 * after the first try. SQLite's busy handler covers most waits, not all: a
 * connection that holds a read lock and needs the write lock gets
 * SQLITE_BUSY at once, since waiting could deadlock, and `journal_mode =
 * wal` on a file another process is creating does just that; on
 * node:sqlite, even the first statement prepared on such a file was seen to
 * fail at once. A new try, on a new connection, holds no lock and can wait
 * its turn. A lock that SQLite did wait for until the busy timeout ends the
 * tries, as the deadline has passed by then.
 */
async function retryWhileLocked<T>(
  open: () => Promise<T>,
  busyTimeout: number,
): Promise<T> {
  const deadline = performance.now() + busyTimeout;
  for (let attempt = 0;; attempt++) {
    try {
      return await open();
    } catch (error) {
      // Random pauses part processes that collided, so they do not again.
      const pause = Math.min(MAX_OPEN_RETRY_PAUSE, 2 ** attempt) *
        (0.5 + Math.random());
      if (!isLockedError(error) || performance.now() + pause > deadline) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
