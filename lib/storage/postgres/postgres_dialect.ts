/**
 * Everything PostgreSQL-specific about storing tasks, as one
 * {@linkcode SqlDialect}: Kysely's PostgreSQL driver on a `pg` pool (sitq's
 * own, or the user's), the schema that qualifies every table, claims with
 * `FOR UPDATE SKIP LOCKED`, the advisory lock around migrations,
 * notifications and relaxed durability inside write transactions, the
 * LISTEN-backed probe (steps 2 and 3 of the wake-up path in
 * `../change_feed.ts`), the error map, and retries of an open that met a
 * server still starting.
 *
 * **Schema.** Every statement names the schema: the Kysely instance is
 * `withSchema(schema)`, which qualifies each sitq table in every query and
 * DDL statement it compiles (the prepared hot statements included). The
 * other way, a `search_path` set per connection, would change the
 * connections of a pool the user lends us for their own queries, or cost a
 * `SET LOCAL` in every transaction; qualified names cost nothing and leave
 * the user's sessions as they were.
 *
 * **Durability.** Inserts and settlements commit at the server's
 * `synchronous_commit` (by default `on`: a commit that returned survives a
 * server crash). Claim-only transactions, lease renewals and progress set
 * it `off` for their own transaction (`set_config(…, true)`, i.e. `SET
 * LOCAL`): a crash of the server may then forget the last few of them,
 * which only makes a task claimable again (delivery is at-least-once) or
 * loses a progress report; the database stays consistent, and the next
 * durable commit flushes them too.
 *
 * **Write lock.** None: PostgreSQL connections write concurrently, row locks
 * keep claims apart, and each transaction (settle-and-claim included) runs
 * on one pooled connection from BEGIN to COMMIT.
 *
 * @module
 */
import {
  type EventTriggerSwitch,
  postgresEventSwitch,
} from "../events_schema.ts";
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  type PostgresPool,
  sql,
  type Transaction,
  type UnknownRow,
} from "kysely";
import type {
  ClaimRequest,
  SettleAndClaimResult,
  Settlement,
} from "../backend.ts";
import type { WriteWatcher } from "../change_feed.ts";
import type { ErrorTiming, PendingWrite, SqlDialect } from "../dialect.ts";
import type { QueryRunner } from "../prepared_query.ts";
import type { SitqSchema } from "../schema.ts";
import {
  type ConnectionTarget,
  formatTarget,
  targetOfPool,
  targetOfUrl,
} from "./connection_target.ts";
import { ChangeListener, notificationPayload } from "./listener.ts";
import { migrate } from "./migrations.ts";
import {
  clientConfig,
  createOwnPool,
  guardedPool,
  listenClientFactory,
  loadPg,
  type PgPool,
} from "./open_pg.ts";
import {
  isStartingUp,
  type PgErrorContext,
  toPostgresError,
} from "./pg_errors.ts";
import { isDependentsProbe, SettleInOneTrip } from "./settle_in_one_trip.ts";

/** The settings the dialect needs, already checked and defaulted. */
export interface PgDialectSettings {
  /** The schema that holds sitq's tables. */
  schema: string;
  /** Pool size (own pool only). */
  maxConnections: number;
  /** Milliseconds to wait for a connection; 0: no limit (own pool only). */
  connectionTimeout: number;
  /** Server-side statement timeout in ms; 0: the server's own (own pool only). */
  statementTimeout: number;
  /** `application_name` (own pool only). */
  applicationName: string;
}

/** Where the connections come from. */
export type PgConnectionSource =
  | { connectionString: string }
  | { pool: PgPool };

/**
 * How long an open keeps trying while the server says it is starting up,
 * when `connectionTimeout` does not say (a borrowed pool, or 0).
 */
const DEFAULT_STARTUP_WAIT_MS = 10_000;
/** The longest pause, in ms, between two tries of an open. */
const MAX_OPEN_RETRY_PAUSE_MS = 500;
/** The first half of the advisory lock key: "sitq" in ASCII. */
const LOCK_CLASS = 0x73697471;
/** Steps run the generic way after the one-trip probe found dependents. */
const GENERIC_STEPS_AFTER_DEPENDENTS = 16;
/** PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Columns that hold `bigint`s (and the counts and aliases sitq reads as
 * numbers): parsed from the text `pg` returns when the pool is the user's,
 * whose global type parsers sitq leaves alone.
 */
const INTEGER_COLUMNS: ReadonlySet<string> = new Set([
  "id",
  "task_id",
  "priority",
  "run_at",
  "attempts",
  "attempt",
  "max_attempts",
  "timeout_ms",
  "lease_expires_at",
  "created_at",
  "started_at",
  "finished_at",
  "count",
  "next",
]);

/** PostgreSQL as a {@linkcode SqlDialect}. */
export class PgDialect implements SqlDialect {
  readonly description: string;
  readonly claimLocking = "skip-locked";
  /** PostgreSQL keeps `sitq_tasks_next_run` (queued tasks by run time). */
  readonly nextRunLookup = "run-time-index";
  /** Identity values come before commit: events go by transaction (v9). */
  readonly eventOrder = "transaction";
  /** The event trigger's switch for this schema (v9). */
  readonly eventTriggers: EventTriggerSwitch;
  readonly watchWrites: WriteWatcher;
  readonly unwatchableReason =
    "its LISTEN connection could not be made (the pool is not a pg.Pool, or the server or a proxy refused it)";
  readonly parseRow: ((row: UnknownRow) => UnknownRow) | undefined;

  readonly #source: PgConnectionSource;
  readonly #settings: PgDialectSettings;
  readonly #target: ConnectionTarget;
  readonly #errorContext: PgErrorContext;
  /** The channel notifications go out on: `sitq_<schema>`, at most 63 bytes. */
  readonly #channel: string;
  /** This backend's id in notification payloads, to skip our own. */
  readonly #origin: string;
  readonly #listener: ChangeListener | undefined;
  /** The last snapshot the polling probe read (see hasExternalChanges). */
  #snapshot: string | undefined;
  /** The pool of the last Kysely instance made (see settleAndClaimAlone). */
  #pool: PgPool | undefined;
  /** The one-trip settle-and-claim statements (`settle_in_one_trip.ts`). */
  readonly #oneTrip: SettleInOneTrip;
  /**
   * Steps left to run the generic way after the probe found dependents:
   * while a workflow's tasks end, most settlements would fail the probe
   * and pay for two writes, so the next ones skip the one-trip form.
   */
  #genericSteps = 0;

  /**
   * @param source A connection string, or the user's pool.
   * @param settings Checked settings (see `PostgresBackendOptions`).
   */
  constructor(source: PgConnectionSource, settings: PgDialectSettings) {
    this.#source = source;
    this.#settings = settings;
    this.#target = "pool" in source
      ? targetOfPool(source.pool)
      : targetOfUrl(source.connectionString);
    const server = formatTarget(this.#target);
    this.description = `PostgreSQL ${server} (schema ${settings.schema})`;
    this.#errorContext = {
      where: `PostgreSQL at ${server}`,
      database: this.#target.database,
      schema: settings.schema,
      statementTimeout: settings.statementTimeout,
      connectionTimeout: settings.connectionTimeout,
    };
    // The schema is ASCII (checked), so characters are bytes.
    this.#channel = `sitq_${settings.schema}`.slice(0, MAX_IDENTIFIER_BYTES);
    this.eventTriggers = postgresEventSwitch(settings.schema);
    this.#origin = Math.random().toString(36).slice(2) +
      Date.now().toString(36);
    const newClient = "pool" in source
      ? listenClientFactory(source.pool)
      : async () => {
        const pg = await loadPg();
        return new pg.Client(clientConfig(pg, {
          ...settings,
          connectionString: source.connectionString,
        }));
      };
    this.#listener = newClient === undefined ? undefined : new ChangeListener({
      channel: this.#channel,
      origin: this.#origin,
      newClient,
    });
    const listener = this.#listener;
    this.watchWrites = (onWrite, onLost) => listener?.watch(onWrite, onLost);
    // Our own pool parses int8 by its own config (open_pg.ts); a borrowed
    // one keeps whatever parsers its owner set, so rows are fixed up here.
    this.parseRow = "pool" in source ? parseIntegerColumns : undefined;
    this.#oneTrip = new SettleInOneTrip(settings.schema);
  }

  createKysely(): Kysely<SitqSchema> {
    const source = this.#source;
    const pool = "pool" in source
      ? () => Promise.resolve(this.#pool = guardedPool(source.pool, false))
      : async () =>
        this.#pool = guardedPool(
          createOwnPool(await loadPg(), {
            ...this.#settings,
            connectionString: source.connectionString,
          }),
          true,
        );
    return new Kysely<SitqSchema>({
      dialect: new PostgresDialect({
        // The shapes match; Kysely's also names a cursor overload that sitq
        // never uses (no streaming).
        pool: pool as () => Promise<PostgresPool>,
      }),
    }).withSchema(this.#settings.schema);
  }

  async lockForMigration(trx: Transaction<SitqSchema>): Promise<void> {
    // Transaction-scoped: released by the commit or rollback, even when the
    // connection dies. Keyed by the schema, so schemas migrate independently.
    await sql`select pg_advisory_xact_lock(${LOCK_CLASS}::int4, ${
      lockKey(this.#settings.schema)
    }::int4)`.execute(trx);
  }

  migrate(trx: Transaction<SitqSchema>): Promise<number> {
    return migrate(trx, this.#settings.schema, this.#errorContext.where);
  }

  withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  /**
   * A worker's step in one round trip (`settle_in_one_trip.ts`): settles,
   * claims, notifies and commits in one pipeline on one pooled connection.
   * Undefined, with nothing written, when a task it would end has
   * dependents to release (the backend's transaction does that), or when
   * the pool's connections are not `pg.Client`s.
   */
  async settleAndClaimAlone(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult | undefined> {
    const pool = this.#pool;
    if (pool === undefined) return undefined;
    if (this.#genericSteps > 0) {
      this.#genericSteps--;
      return undefined;
    }
    const client = await pool.connect();
    let released = false;
    try {
      if (client.pipeline === undefined) return undefined;
      if (
        settlements.length === 0 && (claim === undefined || claim.limit <= 0)
      ) {
        return { applied: [], claimed: [] };
      }
      const statements = this.#oneTrip.statements(settlements, claim, {
        channel: this.#channel,
        payload: notificationPayload(this.#origin, [{ type: "settled" }]),
        durable: settlements.length > 0,
      });
      let rows: (string | null)[][];
      try {
        rows = await client.pipeline(statements);
      } catch (error) {
        if (!isDependentsProbe(error)) throw error;
        this.#genericSteps = GENERIC_STEPS_AFTER_DEPENDENTS;
        return undefined;
      }
      return this.#oneTrip.result(settlements, claim, rows);
    } catch (error) {
      // A connection that failed mid-pipeline is not given back for reuse.
      released = true;
      client.release(error instanceof Error ? error : true);
      throw error;
    } finally {
      if (!released) client.release();
    }
  }

  /**
   * Sends the write's notification and relaxes its durability, in one
   * statement, just before its commit: a notification is delivered at
   * commit and dropped with a rollback, so listeners never hear of a write
   * that did not happen, nor before it is visible.
   */
  async beforeCommit(trx: QueryRunner, write: PendingWrite): Promise<void> {
    const calls: string[] = [];
    const parameters: unknown[] = [];
    if (!write.durable) {
      // `true`: local to this transaction, as SET LOCAL.
      calls.push(`set_config('synchronous_commit', 'off', true)`);
    }
    if (write.changes.length > 0) {
      // A write committed by the caller's transaction has no origin: this
      // backend's own listener must take it as another's.
      parameters.push(
        this.#channel,
        notificationPayload(
          write.committedHere === false ? undefined : this.#origin,
          write.changes,
        ),
      );
      calls.push(`pg_notify($1, $2)`);
    }
    if (calls.length === 0) return;
    await trx.executeQuery(
      CompiledQuery.raw(`select ${calls.join(", ")}`, parameters),
    );
  }

  /**
   * Whether another connection may have committed since the last call.
   * While LISTEN is in force this reads the listener's flag, with no query:
   * an idle worker costs the server nothing between notifications. The
   * first call starts the listener (and waits for it, so the feed's watch
   * right after knows whether LISTEN works) and says yes, as a change may
   * have come before anyone listened. While LISTEN is down, the probe reads
   * the server's snapshot (`pg_current_snapshot()`: the transactions in
   * progress and the next id, no table read), which changes whenever any
   * write transaction begins or ends, ours included: a cheap poll that may
   * say yes once too often, never once too few.
   */
  async hasExternalChanges(db: Kysely<SitqSchema>): Promise<boolean> {
    const listener = this.#listener;
    if (listener !== undefined) {
      await listener.start();
      if (listener.live) {
        this.#snapshot = undefined;
        return listener.takeChanged();
      }
    }
    const { rows } = await sql<{ snapshot: string }>`
      select pg_current_snapshot()::text as snapshot`.execute(db);
    const snapshot = rows[0]?.snapshot;
    const changed = listener?.takeChanged() === true ||
      this.#snapshot === undefined || snapshot !== this.#snapshot;
    this.#snapshot = snapshot;
    return changed;
  }

  mapError(error: unknown, timing: ErrorTiming): unknown {
    return toPostgresError(error, { ...this.#errorContext, ...timing });
  }

  /**
   * Runs `open` again while the server says it is starting up (57P03), for
   * up to `connectionTimeout` (10 s with a borrowed pool): a worker started
   * together with its database waits for it rather than failing. Other
   * failures end the tries at once; a worker retries those itself, with
   * back-off.
   */
  async retryOpen<T>(open: () => Promise<T>): Promise<T> {
    const wait = "pool" in this.#source || this.#settings.connectionTimeout <= 0
      ? DEFAULT_STARTUP_WAIT_MS
      : this.#settings.connectionTimeout;
    const deadline = performance.now() + wait;
    for (let attempt = 0;; attempt++) {
      try {
        return await open();
      } catch (error) {
        const pause = Math.min(MAX_OPEN_RETRY_PAUSE_MS, 25 * 2 ** attempt);
        if (!isStartingUp(error) || performance.now() + pause > deadline) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** Ends the LISTEN connection; the pool is ended by the backend's close. */
  async close(): Promise<void> {
    await this.#listener?.close();
  }
}

/** The row with its integer columns as numbers (see INTEGER_COLUMNS). */
function parseIntegerColumns(row: UnknownRow): UnknownRow {
  for (const key in row) {
    const value = row[key];
    if (
      (typeof value === "string" || typeof value === "bigint") &&
      INTEGER_COLUMNS.has(key)
    ) {
      row[key] = Number(value);
    }
  }
  return row;
}

/**
 * The second half of the advisory lock key: a 32-bit FNV-1a hash of the
 * schema name, as a signed int4. Computed here rather than by the server's
 * `hashtext`, whose results PostgreSQL does not promise to keep.
 */
function lockKey(schema: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < schema.length; index++) {
    hash ^= schema.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
