/**
 * node-postgres (`pg`) as sitq uses it: the module loaded on first open,
 * never before (so `import "sitq"` and `import "sitq/postgres"` need no
 * `pg`), the pool sitq creates for a connection string, a borrowed pool the
 * user owns, and the dedicated connection that LISTENs.
 *
 * The shapes below are what sitq calls, declared here rather than imported
 * from `@types/pg`: `pg` is an optional peer dependency, and its types must
 * not leak into sitq's own.
 *
 * @module
 */
import { DatabaseError } from "../../core/errors.ts";
import { detectRuntime, importRuntimeModule } from "../../runtime/runtime.ts";
import {
  canPipeline,
  type PipelineClient,
  type PipelineStatement,
  runPipeline,
} from "./pipeline.ts";

/** What one query returns, as `pg` reports it. */
export interface PgQueryResult {
  /** The SQL command that ran, e.g. `"UPDATE"`. */
  command: string;
  /** Rows the command touched or returned; null for some commands. */
  rowCount: number | null;
  /** The rows, keyed by column name. */
  rows: unknown[];
}

/** One connection checked out of a pool. */
export interface PgPoolClient {
  /** Runs one statement with `$1`-style parameters. */
  query(text: string, values: unknown[]): Promise<PgQueryResult>;
  /** Gives the connection back; with an error, the pool drops it. */
  release(error?: Error | boolean): void;
  /** A `pg.Client`'s error events (absent from pools of another make). */
  on?(event: "error", listener: (error: Error) => void): unknown;
  /** Removes an error listener. */
  removeListener?(event: "error", listener: (error: Error) => void): unknown;
  /**
   * Runs statements in one round trip as one transaction (`pipeline.ts`);
   * set by {@linkcode guardedPool} on a `pg.Client`, absent otherwise.
   */
  pipeline?(
    statements: readonly PipelineStatement[],
  ): Promise<(string | null)[][]>;
}

/** The pool calls sitq makes. */
export interface PgPool {
  /** Checks a connection out. */
  connect(): Promise<PgPoolClient>;
  /** Ends every connection. */
  end(): Promise<void>;
}

/** A `LISTEN` notification. */
export interface PgNotification {
  /** The channel it was sent on. */
  channel: string;
  /** What `pg_notify` was given, if anything. */
  payload?: string;
}

/** A single connection outside any pool: the one that LISTENs. */
export interface PgClient {
  /** Connects; rejects when the connection or login fails. */
  connect(): Promise<unknown>;
  /** Runs one statement. */
  query(text: string): Promise<unknown>;
  /** Subscribes to notifications, connection errors, and the connection's end. */
  on(
    event: "notification",
    listener: (message: PgNotification) => void,
  ): unknown;
  /** A connection error; without a listener, `pg` would crash the process. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** The connection ended, for whatever reason. */
  on(event: "end", listener: () => void): unknown;
  /** Closes the connection. */
  end(): Promise<unknown>;
}

/** A `pg` client class: a constructor from a client config. */
export type PgClientClass = new (config: object) => PgClient;

/** What sitq uses of the `pg` module. */
export interface PgModule {
  /** The pool class. */
  Pool: new (config: object) => PgPool & {
    on(event: "error", listener: (error: Error) => void): unknown;
  };
  /** The client class. */
  Client: PgClientClass;
  /** The global type parsers (read, never changed). */
  types: {
    getTypeParser(oid: number, format?: string): (value: string) => unknown;
  };
}

/** PostgreSQL's type oid of `int8` (`bigint`). */
const INT8_OID = 20;

let loading: Promise<PgModule> | undefined;

/**
 * `pg` as the runtime can find it: by its bare name (node_modules, or a
 * Deno import map), and on Deno also as `npm:pg@^8`, which resolves where
 * no import map names `pg` (sitq published on JSR and imported from there).
 */
async function importPg(): Promise<unknown> {
  try {
    return await importRuntimeModule("pg");
  } catch (error) {
    if (detectRuntime() !== "deno") throw error;
    return await importRuntimeModule("npm:pg@^8");
  }
}

/**
 * Loads `pg` once per process, by a dynamic import through
 * `importRuntimeModule` (a literal specifier would make bundlers and type
 * checkers resolve `pg` for every user of sitq).
 *
 * @throws {DatabaseError} `DRIVER_NOT_FOUND` when `pg` is not installed.
 */
export function loadPg(): Promise<PgModule> {
  loading ??= importPg().then(
    (namespace) => {
      // ESM (`pg/esm`) exports the classes by name; a CommonJS interop has
      // them on the default export only.
      const named = namespace as Partial<PgModule> & { default?: PgModule };
      return named.Pool !== undefined ? named as PgModule : named.default!;
    },
    (error) => {
      loading = undefined; // installed later: try again on the next open
      throw new DatabaseError(
        "DRIVER_NOT_FOUND",
        "Cannot open a PostgreSQL database: the `pg` package (node-postgres) is not installed; run `npm install pg` (Deno: `deno add npm:pg`, Bun: `bun add pg`)",
        { cause: error },
      );
    },
  );
  return loading;
}

/** The settings of a pool (and LISTEN connection) sitq creates. */
export interface OwnPoolSettings {
  /** The URL the user gave. */
  connectionString: string;
  /** Pool size. */
  maxConnections: number;
  /** Milliseconds to wait for a connection; 0: no limit. */
  connectionTimeout: number;
  /** Server-side `statement_timeout` in ms; 0: the server's own. */
  statementTimeout: number;
  /** `application_name`, shown in `pg_stat_activity`. */
  applicationName: string;
}

/**
 * The client config for `settings`. `int8` columns (sitq's ids and epoch-ms
 * times) are parsed into numbers by this config's own `types`, so the
 * user's global `pg.types` are neither needed nor changed. Every value sitq
 * stores in them is a safe integer, so the conversion is exact.
 */
export function clientConfig(pg: PgModule, settings: OwnPoolSettings): object {
  const parseInt8 = (value: string) => Number(value);
  return {
    connectionString: settings.connectionString,
    connectionTimeoutMillis: settings.connectionTimeout,
    application_name: settings.applicationName,
    // Sent in the startup packet: in force for sitq's connections only.
    ...(settings.statementTimeout > 0
      ? { statement_timeout: settings.statementTimeout }
      : {}),
    // A server that vanished without closing the socket is found out.
    keepAlive: true,
    types: {
      getTypeParser: (oid: number, format?: string) =>
        oid === INT8_OID && format !== "binary"
          ? parseInt8
          : pg.types.getTypeParser(oid, format),
    },
  };
}

/** Creates the pool sitq owns for a connection string. */
export function createOwnPool(pg: PgModule, settings: OwnPoolSettings): PgPool {
  const pool = new pg.Pool({
    ...clientConfig(pg, settings),
    max: settings.maxConnections,
  });
  // An idle connection the server closed (a restart) is reported here; with
  // no listener `pg` would throw it and end the process. The pool drops the
  // connection by itself, and the next call opens a new one.
  pool.on("error", () => {});
  return pool;
}

/**
 * `pool` as Kysely's driver sees it. Each checked-out connection listens
 * for errors until it is released: `pg` reports a connection that dies in
 * use (the server restarting) both to the running query, which fails with
 * it, and as an 'error' event, which, with no listener, `pg` throws out
 * of the socket's callback and ends the process. `pg.Pool` listens only
 * while a connection is idle. The failed query is what reports it.
 *
 * @param pool The pool.
 * @param owned Whether the backend owns the pool: a borrowed one is never
 * ended (`end()` does nothing), since its owner still uses it.
 */
export function guardedPool(pool: PgPool, owned: boolean): PgPool {
  const ignore = () => {};
  return {
    async connect() {
      const client = await pool.connect();
      client.on?.("error", ignore);
      const wire = client as unknown as PipelineClient;
      return {
        query: (text, values) => client.query(text, values),
        ...(canPipeline(wire)
          ? {
            pipeline: (statements: readonly PipelineStatement[]) =>
              runPipeline(wire, statements),
          }
          : {}),
        release(error) {
          client.removeListener?.("error", ignore);
          client.release(error);
        },
      };
    },
    end: () => owned ? pool.end() : Promise.resolve(),
  };
}

/**
 * Makes a new LISTEN connection with a pool's own settings: `pg.Pool` keeps
 * the config it was given (`options`) and the client class it makes
 * connections of (`Client`), so the connection logs in as the pool's do,
 * without holding one of the pool's connections for good. Undefined when
 * the pool is not a `pg.Pool` (a LISTEN connection cannot be made: wake-ups
 * then come by polling).
 */
export function listenClientFactory(
  pool: object,
): (() => PgClient) | undefined {
  const { options, Client } = pool as { options?: unknown; Client?: unknown };
  if (typeof Client !== "function" || typeof options !== "object") {
    return undefined;
  }
  const ClientClass = Client as PgClientClass;
  return () => new ClientClass({ ...options, keepAlive: true });
}
