/**
 * The PostgreSQL backend: the same SQL as SQLite's (`../sql_backend.ts`),
 * on a `pg` pool, in a schema of its own. What is PostgreSQL's is in
 * `postgres_dialect.ts`; this file holds the public class, its options and
 * their checks.
 *
 * @module
 */
import {
  checkInteger,
  checkOptions,
  checkTimerDuration,
  optionKeys,
  show,
} from "../../core/validate.ts";
import { SqlBackend } from "../sql_backend.ts";
import type { PgPool } from "./open_pg.ts";
import { PgDialect } from "./postgres_dialect.ts";

/** Options for {@linkcode PostgresBackend}; all optional. */
export interface PostgresBackendOptions {
  /**
   * The schema that holds sitq's tables (`sitq_tasks`, `sitq_attempts`,
   * `sitq_meta`); created on first open if missing. Every statement names
   * it, so the connections' `search_path` does not matter and is not
   * changed. A plain identifier: letters, digits and `_`, not starting with
   * a digit, at most 63 characters. It is used as written, case included
   * (quote it in your own SQL if it has capitals). Backends with different
   * schemas on one database are independent queues.
   *
   * @default {"sitq"}
   */
  schema?: string;
  /**
   * How often, in milliseconds, a backend with waiting workers or waiters
   * checks for other processes' commits. While its LISTEN connection is in
   * force, other processes' writes arrive as notifications and the check
   * reads a flag, with no query, every 1000 ms by default; while LISTEN is
   * down (the server restarting, or LISTEN unavailable, e.g. behind a
   * transaction-pooling proxy) it asks the server, every 100 ms by
   * default. 0 disables both, and LISTEN: other processes' tasks are then
   * found only by each worker's `pollInterval`.
   *
   * @default {1000 while LISTEN is in force, else 100}
   */
  changePollInterval?: number;
  /**
   * The most connections the backend's own pool opens (a connection string
   * only: a pool you pass is sized by you). Workers use one per claim or
   * settlement in flight; one more, outside the pool, LISTENs.
   *
   * @default {10}
   */
  maxConnections?: number;
  /**
   * How long, in milliseconds, to wait for a new connection (TCP connect
   * and login) before failing with `CONNECTION_FAILED` (a connection string
   * only). An open that finds the server starting up is tried again for
   * this long. 0 waits as long as the system does.
   *
   * @default {10000}
   */
  connectionTimeout?: number;
  /**
   * The server-side `statement_timeout`, in milliseconds, of the backend's
   * own connections (a connection string only): a statement running longer
   * is cancelled and fails with `STATEMENT_TIMEOUT`, and its transaction
   * changes nothing. sitq's statements take milliseconds; one that waits
   * longer is usually waiting for rows a long transaction holds. 0 leaves
   * the server's setting in force (PostgreSQL's default: no limit), so a
   * large `prune` is never cut short.
   *
   * @default {0}
   */
  statementTimeout?: number;
  /**
   * The `application_name` of the backend's connections (a connection
   * string only), as `pg_stat_activity` shows it. PostgreSQL keeps the
   * first 63 bytes.
   *
   * @default {"sitq"}
   */
  applicationName?: string;
}

/**
 * The part of a node-postgres `pg.Pool` that {@linkcode PostgresBackend}
 * uses, declared by shape so that `pg`'s types are not needed to use sitq's.
 * Pass a real `pg.Pool`: its `options` and `Client` let the backend open its
 * LISTEN connection with the same settings; a pool without them works, with
 * wake-ups by polling.
 */
export interface PostgresPool {
  /** Checks out a connection. */
  connect(): Promise<{
    /** Runs one statement with `$1`-style parameters. */
    query(
      text: string,
      values: unknown[],
    ): Promise<{ command: string; rowCount: number | null; rows: unknown[] }>;
    /** Returns the connection to the pool. */
    release(error?: Error | boolean): void;
  }>;
}

const OPTION_KEYS = optionKeys<PostgresBackendOptions>({
  schema: true,
  changePollInterval: true,
  maxConnections: true,
  connectionTimeout: true,
  statementTimeout: true,
  applicationName: true,
});

/** The options that configure a pool sitq creates, so not a lent one. */
const OWN_POOL_KEYS = [
  "maxConnections",
  "connectionTimeout",
  "statementTimeout",
  "applicationName",
] as const;

const ACTION = "create PostgresBackend";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_SCHEMA_LENGTH = 63;

/**
 * Stores tasks in PostgreSQL, in a schema of their own, for queues whose
 * workers run on several machines. `TaskQueue` and `Worker` use it exactly
 * as they use `SQLiteBackend`; concurrent claims across processes and hosts
 * use `FOR UPDATE SKIP LOCKED`, and other processes' writes wake idle
 * workers through LISTEN/NOTIFY, with polling as the safety net.
 *
 * Give it a connection URL, and it opens a pool of its own (ended by
 * {@linkcode PostgresBackend.close}); or give it your `pg.Pool`, which it
 * borrows and never ends, changing neither its settings nor `pg`'s global
 * type parsers. node-postgres (`pg` 8) is an optional peer dependency,
 * loaded on first open: `npm install pg`.
 *
 * The database opens on first use (or `await backend.open()`): it creates
 * the schema if missing and brings sitq's tables up to date, one process at
 * a time (a transaction-scoped advisory lock), refusing a schema written by
 * a newer sitq with `DatabaseError` code `SCHEMA_TOO_NEW`. Connection
 * failures are `DatabaseError`s with codes of their own
 * (`CONNECTION_FAILED`, `AUTHENTICATION_FAILED`, `DATABASE_NOT_FOUND`,
 * `CONNECTION_LOST`, `STATEMENT_TIMEOUT`); workers back off and carry on
 * through a server restart.
 *
 * Durability: inserts and settlements commit at the server's
 * `synchronous_commit`; claims, lease renewals and progress commit with it
 * `off`, since losing one in a server crash only makes a task claimable
 * again (delivery is at-least-once).
 *
 * @example A queue and a worker on a shared database
 * ```ts
 * import { TaskQueue } from "sitq";
 * import { PostgresBackend } from "sitq/postgres";
 *
 * // e.g. "postgres://app:secret@db.internal:5432/app"; runs when it is set.
 * const url = Deno.env.get("DATABASE_URL");
 * if (url !== undefined) {
 *   const backend = new PostgresBackend(url, { schema: "jobs" });
 *   const queue = new TaskQueue(backend);
 *   const resize = queue.task("resize", (file: string) => `resized ${file}`);
 *   const id = await queue.enqueue(resize, "a.png");
 *   const worker = queue.worker({ concurrency: 8 });
 *   await worker.start();
 *   console.log(await queue.waitForResult(id, { timeout: 5000 }));
 *   await worker.stop();
 *   await queue.close(); // closes the backend too
 * }
 * ```
 */
export class PostgresBackend extends SqlBackend {
  /** The schema that holds sitq's tables. */
  readonly schema: string;
  readonly #dialect: PgDialect;

  /**
   * Creates a backend; nothing is connected until first use.
   *
   * @param connection A connection URL (`postgres://user:password@host:port/database`,
   * with any `pg` URL parameters), or a `pg.Pool` you own.
   * @param options Schema, polling and, for a URL, the pool's settings.
   * @throws {TypeError} If `connection` is neither, an option is unknown or
   * of the wrong type, `schema` is not a plain identifier, or a pool's own
   * setting (`maxConnections`, `connectionTimeout`, `statementTimeout`,
   * `applicationName`) is given with a pool.
   * @throws {RangeError} If a number option is out of range.
   */
  constructor(
    connection: string | PostgresPool,
    options: PostgresBackendOptions = {},
  ) {
    checkBackendArguments(connection, options);
    const schema = options.schema ?? "sitq";
    const dialect = new PgDialect(
      typeof connection === "string"
        ? { connectionString: connection }
        : { pool: connection as unknown as PgPool },
      {
        schema,
        maxConnections: options.maxConnections ?? 10,
        connectionTimeout: Math.round(options.connectionTimeout ?? 10_000),
        statementTimeout: Math.round(options.statementTimeout ?? 0),
        applicationName: options.applicationName ?? "sitq",
      },
    );
    super(dialect, { changePollInterval: options.changePollInterval });
    this.schema = schema;
    this.#dialect = dialect;
  }

  /**
   * Closes the backend: ends its LISTEN connection and, when it made its
   * own pool, the pool (a pool you passed stays open). Safe to call more
   * than once.
   */
  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.#dialect.close();
    }
  }
}

function checkBackendArguments(
  connection: unknown,
  options: PostgresBackendOptions,
): void {
  const isPool = typeof connection === "object" && connection !== null &&
    typeof (connection as { connect?: unknown }).connect === "function";
  if (
    !isPool && (typeof connection !== "string" || connection.trim() === "")
  ) {
    // Never the string itself: a connection URL may hold a password.
    throw new TypeError(
      `Cannot ${ACTION} as 'connection' must be a connection URL such as "postgres://user@host:5432/database" or a pg.Pool: current value is ${
        typeof connection === "string" ? "an empty string" : show(connection)
      }`,
    );
  }
  checkOptions(options, OPTION_KEYS, ACTION);
  if (isPool) {
    for (const key of OWN_POOL_KEYS) {
      if (options[key] !== undefined) {
        throw new TypeError(
          `Cannot ${ACTION} as '${key}' applies only to the pool sitq creates from a connection URL: configure your pg.Pool itself instead: current value is ${
            show(options[key])
          }`,
        );
      }
    }
  }
  const { schema, applicationName } = options;
  if (schema !== undefined) {
    if (
      typeof schema !== "string" || !IDENTIFIER.test(schema) ||
      schema.length > MAX_SCHEMA_LENGTH
    ) {
      throw new TypeError(
        `Cannot ${ACTION} as 'schema' must be a plain identifier (letters, digits and _, not starting with a digit, at most ${MAX_SCHEMA_LENGTH} characters): current value is ${
          show(schema)
        }`,
      );
    }
  }
  if (options.changePollInterval !== undefined) {
    checkTimerDuration(
      options.changePollInterval,
      ACTION,
      "changePollInterval",
    );
  }
  if (options.maxConnections !== undefined) {
    checkInteger(options.maxConnections, ACTION, "maxConnections", 1);
  }
  if (options.connectionTimeout !== undefined) {
    checkTimerDuration(options.connectionTimeout, ACTION, "connectionTimeout");
  }
  if (options.statementTimeout !== undefined) {
    checkTimerDuration(options.statementTimeout, ACTION, "statementTimeout");
  }
  if (applicationName !== undefined && typeof applicationName !== "string") {
    throw new TypeError(
      `Cannot ${ACTION} as 'applicationName' must be a string: current value is ${
        show(applicationName)
      }`,
    );
  }
}
