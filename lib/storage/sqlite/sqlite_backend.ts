/**
 * The default backend: one SQLite file (or `:memory:`) through Kysely, on
 * whichever SQLite driver the runtime has. The SQL is shared
 * (`../sql_backend.ts`); what is SQLite's is in `sqlite_dialect.ts`; this
 * file holds the public class and its options.
 *
 * @module
 */
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  checkTimerDuration,
  optionKeys,
} from "../../core/validate.ts";
import { DEFAULT_BUSY_TIMEOUT } from "../../drivers/open_sqlite.ts";
import { SqlBackend } from "../sql_backend.ts";
import { SqliteDialect } from "./sqlite_dialect.ts";

/** Options for {@linkcode SQLiteBackend}. */
export interface SQLiteBackendOptions {
  /**
   * How often, in milliseconds, a backend with waiting workers or waiters
   * checks whether another process committed (a cheap query that reads no
   * table). Where the backend can also watch the database for writes (a
   * file on a local disk), another process's commit is noticed at once and
   * this check is only the safety net, so it then defaults to 1000;
   * otherwise it defaults to 100. 0 disables both: other processes' tasks
   * are then found only by each worker's `pollInterval`. Ignored for
   * `":memory:"`, which no other process can write.
   *
   * @default {100, or 1000 while watching for writes}
   */
  changePollInterval?: number;
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

const OPTION_KEYS = optionKeys<SQLiteBackendOptions>({
  busyTimeout: true,
  synchronous: true,
  walSizeLimit: true,
  changePollInterval: true,
});

const DEFAULT_WAL_SIZE_LIMIT = 8 * 1024 * 1024;

/**
 * Stores tasks in an SQLite file, in WAL mode. Several processes can share
 * the file; a queue and workers that share one backend object share one
 * connection (and one database, for `":memory:"`).
 *
 * The database opens on first use (or `await backend.open()`), creating the
 * file and upgrading an older sitq schema in place. `await backend.close()`
 * (or `await using`) closes it; closing twice is harmless. It implements the
 * `Backend` interface of `sitq/backend`, whose other methods are what
 * `TaskQueue` and `Worker` call.
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
  readonly #dialect: SqliteDialect;

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
    const dialect = new SqliteDialect(path, {
      busyTimeout: Math.round(options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT),
      walSizeLimit: options.walSizeLimit ?? DEFAULT_WAL_SIZE_LIMIT,
      synchronous: options.synchronous ?? "full",
    });
    super(dialect, {
      // Nobody else can write to a private in-memory database.
      changePollInterval: path === ":memory:" ? 0 : options.changePollInterval,
    });
    this.path = path;
    this.#dialect = dialect;
  }

  /**
   * The SQLite driver in use: "bun:sqlite", "node:sqlite" or
   * "better-sqlite3"; undefined until the database is open.
   */
  get driverName(): string | undefined {
    return this.#dialect.driverName;
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
