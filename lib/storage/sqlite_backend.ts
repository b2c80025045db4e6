/**
 * The default backend: one SQLite file (or `:memory:`) through Kysely, on
 * whichever SQLite driver the runtime has.
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CompiledQuery, Kysely, sql } from "kysely";
import { ImmediateSqliteDialect } from "../drivers/immediate_sqlite_dialect.ts";
import { openSqlite } from "../drivers/open_sqlite.ts";
import type { ShimDatabase } from "../drivers/sqlite_shim.ts";
import { isLockedError, toDatabaseError } from "../drivers/sqlite_errors.ts";
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  checkTimerDuration,
} from "../core/validate.ts";
import { AsyncMutex } from "./async_mutex.ts";
import { watchFile } from "./file_watch.ts";
import type { SitqSchema } from "./schema.ts";
import {
  SqlBackend,
  type SqlBackendOptions,
  type SqlDialectHooks,
} from "./sql_backend.ts";

/** Options for {@linkcode SQLiteBackend}. */
export interface SQLiteBackendOptions extends SqlBackendOptions {
  /**
   * How long, in milliseconds, a statement waits for another process's lock
   * before failing with `DATABASE_LOCKED`. It is in force from the first
   * statement on a connection. Opening (connection setup and schema
   * migration) is tried again for up to this long when SQLite reports a lock
   * without waiting for it, as it does to processes that create one new file
   * together. `0` never waits.
   *
   * @default {5000}
   */
  busyTimeout?: number;
  /**
   * The size, in bytes, that the write-ahead log (the `-wal` file beside the
   * database) is cut back to once its content has been copied into the
   * database (SQLite's `journal_size_limit`). SQLite copies the log after
   * about 4 MB of commits, or after a bigger transaction, as soon as no
   * reader still needs it, and the next write starts the log over: without
   * a limit the file then keeps the size of the largest burst for good. The
   * default is about twice what steady use needs, so only a burst is ever
   * cut back. `0` truncates the log each time it starts over.
   *
   * @default {8388608} (8 MiB)
   */
  walSizeLimit?: number;
  /**
   * SQLite's `synchronous` setting, the durability of each commit:
   * - `"full"` (default): a commit survives power loss once it returns. With
   *   WAL this costs one fsync of the log per transaction; sitq batches
   *   claims and completions to amortise it. Transactions that only claim
   *   or renew leases skip the fsync: losing one in a power cut only makes
   *   a task claimable again (delivery is at-least-once), and the next
   *   durable commit syncs it too.
   * - `"normal"`: a commit survives a crash or `kill -9` of any process, but
   *   the last transactions before a power loss or OS crash may roll back
   *   (the database stays consistent). Faster on slow disks.
   *
   * @default {"full"}
   */
  synchronous?: "full" | "normal";
}

const OPTION_KEYS = [
  "busyTimeout",
  "synchronous",
  "walSizeLimit",
  "changePollInterval",
];

const DEFAULT_BUSY_TIMEOUT = 5000;
const DEFAULT_WAL_SIZE_LIMIT = 8 * 1024 * 1024;

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

/**
 * Stores tasks in an SQLite file, in WAL mode. Several processes can share
 * the file; a queue and workers that share one backend object share one
 * connection (and one database, for `":memory:"`).
 *
 * The database opens on first use (or `await backend.open()`), creating the
 * file and upgrading an older sitq schema in place.
 *
 * @example A file and an in-memory database
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const memory = new SQLiteBackend(":memory:");
 * const queue = new TaskQueue(memory);
 * await queue.close();
 *
 * const path = await Deno.makeTempFile({ suffix: ".db" });
 * await using file = new SQLiteBackend(path, { synchronous: "normal" });
 * await file.open();
 * console.log(file.driverName); // "node:sqlite" on Deno
 * ```
 */
export class SQLiteBackend extends SqlBackend {
  /** The database path, or `":memory:"`. */
  readonly path: string;
  readonly #connection: { shim?: ShimDatabase };

  /**
   * Creates a backend for one SQLite file; nothing is opened until first use.
   *
   * @param path A file path (created if missing; its directory must exist),
   * or `":memory:"` for a private in-memory database.
   * @param options Durability and polling settings.
   * @throws {TypeError} If `path` is not a non-empty string or an option is unknown.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(path: string, options: SQLiteBackendOptions = {}) {
    checkBackendArguments(path, options);
    const memory = path === ":memory:";
    const connection: { shim?: ShimDatabase } = {};
    super(sqliteHooks(path, options, connection), {
      ...options,
      // Nobody else can write to a private in-memory database.
      changePollInterval: memory ? 0 : options.changePollInterval,
    });
    this.path = path;
    this.#connection = connection;
  }

  /**
   * The SQLite driver in use: "bun:sqlite", "node:sqlite" or
   * "better-sqlite3"; undefined until the database is open.
   */
  get driverName(): string | undefined {
    return this.#connection.shim?.driverName;
  }
}

function checkBackendArguments(
  path: unknown,
  options: SQLiteBackendOptions,
): void {
  if (typeof path !== "string" || path.trim() === "") {
    throw new TypeError(
      `Cannot create SQLiteBackend as 'path' must be a file path or ":memory:": current value is ${
        typeof path === "string" ? JSON.stringify(path) : String(path)
      }`,
    );
  }
  const action = "create SQLiteBackend";
  checkOptionsObject(options, action);
  checkKnownKeys(options, OPTION_KEYS, action);
  if (options.busyTimeout !== undefined) {
    checkTimerDuration(options.busyTimeout, action, "busyTimeout");
  }
  if (options.walSizeLimit !== undefined) {
    checkInteger(options.walSizeLimit, action, "walSizeLimit", 0);
  }
  if (options.changePollInterval !== undefined) {
    checkTimerDuration(
      options.changePollInterval,
      action,
      "changePollInterval",
    );
  }
  if (
    options.synchronous !== undefined &&
    options.synchronous !== "full" && options.synchronous !== "normal"
  ) {
    throw new TypeError(
      `Cannot create SQLiteBackend as 'synchronous' must be "full" or "normal": current value is ${
        JSON.stringify(options.synchronous)
      }`,
    );
  }
}

function sqliteHooks(
  path: string,
  options: SQLiteBackendOptions,
  connection: { shim?: ShimDatabase },
): SqlDialectHooks {
  const memory = path === ":memory:";
  const lock = memory ? undefined : writeLockFor(path);
  const synchronous = options.synchronous ?? "full";
  const busyTimeout = Math.round(options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT);
  // The driver sets the busy timeout when it opens, before these run.
  const pragmas = [
    `pragma journal_mode = wal`,
    `pragma journal_size_limit = ${
      options.walSizeLimit ?? DEFAULT_WAL_SIZE_LIMIT
    }`,
    `pragma synchronous = ${synchronous}`,
    `pragma foreign_keys = on`,
  ];
  let dataVersion: number | undefined;
  return {
    description: memory ? "SQLite :memory:" : `SQLite "${path}"`,
    createKysely: () =>
      new Kysely<SitqSchema>({
        dialect: new ImmediateSqliteDialect({
          database: async () => {
            connection.shim = await openSqlite(path, { busyTimeout });
            return connection.shim;
          },
          onCreateConnection: async (db) => {
            try {
              for (const pragma of pragmas) {
                await db.executeQuery(CompiledQuery.raw(pragma));
              }
            } catch (error) {
              // Kysely forgets a connection whose setup failed, so its
              // destroy() would not close this handle: close it here.
              connection.shim?.close();
              throw error;
            }
          },
        }),
      }),
    withWriteLock: (fn) => lock === undefined ? fn() : lock.lock(fn),
    retryOpen: (open) => retryWhileLocked(open, busyTimeout),
    // Statements prepared against the pre-migration schema can be stale.
    afterMigrate: () => connection.shim?.clearStatementCache(),
    // PRAGMA data_version changes only when another connection commits, so
    // an idle worker learns of new work without touching the table.
    hasExternalChanges: async (db) => {
      const { rows } = await sql<{ data_version: number }>`pragma data_version`
        .execute(db);
      const version = Number(rows[0]?.data_version);
      // The first probe has nothing to compare with, yet another process may
      // have committed since the subscriber last read (a worker's claim found
      // nothing, then a task arrived before this probe): report a change, so
      // that commit is not missed until the worker's next poll.
      const changed = dataVersion === undefined || version !== dataVersion;
      dataVersion = version;
      return changed;
    },
    // Every commit appends to the write-ahead log, whoever makes it, so a
    // watch on it wakes idle workers of other processes within milliseconds
    // instead of a poll interval, and lets them poll rarely.
    watchWrites: memory
      ? undefined
      : (onWrite, onLost) =>
        watchFile(`${canonicalPath(path)}-wal`, onWrite, onLost),
    mapError: (error, context) =>
      toDatabaseError(error, path, { ...context, busyTimeout }),
    // SQLite refuses to change the safety level inside a transaction, so the
    // switch wraps it, on one connection held throughout: no other statement
    // of this backend can commit while the level is lowered.
    relaxedCommit: synchronous === "full"
      ? (db, fn) =>
        db.connection().execute(async (connection) => {
          await sql`pragma synchronous = normal`.execute(connection);
          const restore = () =>
            sql`pragma synchronous = full`.execute(connection);
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
        })
      : undefined,
  };
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
