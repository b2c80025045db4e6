/**
 * What a database supplies to the SQL backend: the few things that truly
 * differ between databases, so that every statement in `queries/` is written
 * once for all of them.
 *
 * A dialect is described by capability flags and hooks. Each capability is
 * optional and its doc states the default, which is what an absent value
 * means; the SQL backend reads the flags and never asks which database it
 * has. SQLite's dialect is `sqlite/sqlite_dialect.ts`.
 *
 * Kept out of the public API on purpose: dialects speak Kysely, and Kysely's
 * types are not part of sitq's.
 *
 * @module
 */
import type { EventTriggerSwitch } from "./events_schema.ts";
import type {
  Kysely,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  Transaction,
  UnknownRow,
} from "kysely";
import type {
  BackendChange,
  ClaimRequest,
  SettleAndClaimResult,
  Settlement,
} from "./backend.ts";
import type { WriteWatcher } from "./change_feed.ts";
import type { QueryRunner } from "./prepared_query.ts";
import type { SitqSchema } from "./schema.ts";
import type { WriteProgram } from "./write_program.ts";

/**
 * How concurrent claims are kept from taking one task twice:
 * - `"serialized-writer"`: the database runs one write transaction at a
 *   time (SQLite's `BEGIN IMMEDIATE`), so a claim's select-then-update can
 *   never interleave with another's.
 * - `"skip-locked"`: claims run concurrently under row locks; the claim's
 *   inner select takes `FOR UPDATE SKIP LOCKED`, so a claimer passes over
 *   rows another claimer holds instead of waiting for them (PostgreSQL).
 */
export type ClaimLocking = "serialized-writer" | "skip-locked";

/**
 * How a worker whose claim came up short finds the next run time among
 * queued tasks (`claim_tasks.ts`):
 * - `"claim-index"`: through the claim index (priority, run time, id of
 *   queued tasks), one index seek per distinct priority. No other index of
 *   queued tasks is needed, so an insert writes one index page less
 *   (SQLite since schema v11).
 * - `"run-time-index"`: through `sitq_tasks_next_run`, an index of queued
 *   tasks by run time alone (PostgreSQL).
 */
export type NextRunLookup = "claim-index" | "run-time-index";

/** What {@linkcode SqlDialect.claimLocking} is when a dialect leaves it out. */
export const DEFAULT_CLAIM_LOCKING: ClaimLocking = "serialized-writer";

/** A write about to commit, as {@linkcode SqlDialect.beforeCommit} sees it. */
export interface PendingWrite {
  /**
   * Whether the commit must survive power loss. `false` for claims, lease
   * renewals and progress, whose loss only makes a task claimable again.
   */
  durable: boolean;
  /**
   * What the write changed, as this process's subscribers hear of it after
   * the commit (`enqueued`, `settled`); empty when it changed nothing that
   * another process's worker or waiter would wait for.
   */
  changes: readonly BackendChange[];
  /**
   * Whether this backend commits the write, and so tells its own
   * subscribers of it afterwards. `false` for an insert in the caller's own
   * transaction, whose commit this backend never sees: its announcement
   * must reach this backend's subscribers too, as another process's would.
   *
   * @default {true}
   */
  committedHere?: boolean;
}

/** How {@linkcode SqlDialect.writeNow} is to commit. */
export interface WriteNowOptions {
  /** Whether the commit must survive power loss; see {@linkcode PendingWrite.durable}. */
  durable: boolean;
}

/** Timing of a failed call, handed to {@linkcode SqlDialect.mapError}. */
export interface ErrorTiming {
  /** Milliseconds from the start of the failed call (the open included, for an open). */
  elapsedMs: number;
}

/** What a database supplies to the SQL backend. */
export interface SqlDialect {
  /** A label for logs and error messages, e.g. `SQLite "tasks.db"`. */
  readonly description: string;

  // ---- capabilities: each optional, its default stated --------------------

  /**
   * Claim locking: how concurrent claims are kept apart.
   *
   * @default {"serialized-writer"} ({@linkcode DEFAULT_CLAIM_LOCKING})
   */
  readonly claimLocking?: ClaimLocking;
  /**
   * How the next run time after a short claim is found; the dialect's
   * schema must have the index it names.
   *
   * @default {"claim-index"}
   */
  readonly nextRunLookup?: NextRunLookup;
  /**
   * Event order (schema v9, `events_schema.ts`): `"id"` where event ids are
   * handed out in commit order (one writer at a time: SQLite),
   * `"transaction"` where they are not and readers go by the transaction
   * horizon (PostgreSQL).
   *
   * @default {"id"}
   */
  readonly eventOrder?: "id" | "transaction";
  /**
   * How the event triggers (schema v9) are switched on with the first
   * subscriber and off with the last (`events_schema.ts`).
   *
   * @default {SQLite's: created and dropped}
   */
  readonly eventTriggers?: EventTriggerSwitch;
  /**
   * Push wake-ups: starts a watch that reports writes to the database by any
   * connection, a hint to probe {@linkcode SqlDialect.hasExternalChanges}
   * now rather than at the next poll (see `change_feed.ts`). Default: none;
   * other connections' commits are found by polling alone.
   */
  readonly watchWrites?: WriteWatcher;
  /**
   * Why {@linkcode SqlDialect.watchWrites} may fail to start, for the
   * one `PUSH_UNAVAILABLE` notice (a clause, e.g. "its LISTEN connection
   * could not be made"). Default: SQLite's reasons (a network file
   * system, removed files).
   */
  readonly unwatchableReason?: string;
  /**
   * Writes now: runs a write program (`write_program.ts`) as one whole
   * transaction on the driver's own connection (begin, its statements,
   * then commit, or rollback when one fails), within the caller's turn
   * while this process's write lock is free, and once it is free
   * otherwise, instead of on a Kysely transaction. For synchronous drivers
   * (SQLite), whose statements are done when they return anyway: it spares
   * each statement Kysely's asynchronous executor and its promises, which
   * cost a worker more than SQLite's own work on its small statements
   * (about a third of its time per task at concurrency 1). The dialect relaxes the
   * commit itself when `durable` is false; {@linkcode SqlDialect.beforeCommit},
   * {@linkcode SqlDialect.relaxedCommit} and {@linkcode SqlDialect.parseRow}
   * are not applied to these writes, so a dialect that needs them for its
   * writes leaves this out. Errors are thrown as the driver raised them
   * (the backend maps them), after the rollback.
   * Default: none; every write runs on a Kysely transaction under
   * {@linkcode SqlDialect.withWriteLock}.
   *
   * @returns What the program returned: at once when the lock was free,
   * else a promise of it.
   */
  writeNow?<T>(
    program: () => WriteProgram<T>,
    options: WriteNowOptions,
  ): T | Promise<T>;
  /**
   * Settle-and-claim alone: a worker's whole step (`Backend.settleAndClaim`:
   * the settlements, their history, the claim, the notification) written
   * by the dialect in one round trip and one commit of its own, instead of
   * the generic statements in a transaction (PostgreSQL: one statement of
   * data-modifying CTEs, in a pipeline; see
   * `postgres/settle_in_one_trip.ts`). It returns `undefined`, having
   * written nothing, when it cannot do the step alone: a task it would end
   * has dependents to release, whose statements run in the generic
   * transaction. The backend tells subscribers of the settled ids after it.
   * Errors are thrown as the driver raised them (the backend maps them).
   * Default: none; every step is the generic transaction.
   */
  settleAndClaimAlone?(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult | undefined>;
  /**
   * Relaxed commit: runs `fn` on one connection whose commits need not
   * survive power loss (SQLite `synchronous = NORMAL`, which cannot change
   * inside a transaction), restoring the setting after. Used for writes
   * whose loss only makes a task claimable again. A database that relaxes
   * durability per transaction does it in {@linkcode SqlDialect.beforeCommit}
   * instead (PostgreSQL). Default: none; every commit is as durable as the
   * database is configured.
   */
  relaxedCommit?<T>(
    db: Kysely<SitqSchema>,
    fn: (connection: Kysely<SitqSchema>) => Promise<T>,
  ): Promise<T>;
  /**
   * Last statements of a write transaction: called inside it, after the
   * write's own statements and before the commit, for every write with
   * changes to announce and every write that need not be durable. A
   * database with a push channel sends its notification here, so that it
   * is delivered with the commit and never without it (PostgreSQL:
   * `pg_notify`); one whose durability is set per transaction relaxes it
   * here (PostgreSQL: `synchronous_commit` off, local to the transaction).
   * Default: none; changes reach other processes through
   * {@linkcode SqlDialect.hasExternalChanges} alone, and durability is
   * relaxed, if at all, by {@linkcode SqlDialect.relaxedCommit}.
   */
  beforeCommit?(trx: QueryRunner, write: PendingWrite): Promise<void>;
  /**
   * Row parsing: turns each row the driver returns into the shape the row
   * types promise (numbers for integer columns), e.g. PostgreSQL's `int8`
   * text to numbers. Default: none; rows are used as the driver returns
   * them, as SQLite's drivers already return integers as numbers.
   */
  parseRow?(row: UnknownRow): UnknownRow;
  /**
   * Migration lock: called first inside the migration's transaction, to keep
   * other processes from migrating at the same time (PostgreSQL: an advisory
   * transaction lock). Default: none; the write lock and the write
   * transaction the migration runs in already exclude other migrators
   * (SQLite's `BEGIN IMMEDIATE`).
   */
  lockForMigration?(trx: Transaction<SitqSchema>): Promise<void>;

  // ---- hooks every dialect supplies ----------------------------------------

  /** Creates the Kysely instance; called by each try of an open. */
  createKysely(): Kysely<SitqSchema>;
  /**
   * Brings the schema up to date inside the caller's write transaction; the
   * dialect owns its DDL, since column types and index syntax differ.
   */
  migrate(trx: Transaction<SitqSchema>): Promise<unknown>;
  /**
   * Runs `fn` holding whatever lock keeps this process's writers of this
   * database from waiting on each other inside the database (SQLite: the
   * per-file mutex, since its drivers block the event loop while they wait).
   */
  withWriteLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether another connection committed since the last call. */
  hasExternalChanges(db: Kysely<SitqSchema>): Promise<boolean>;
  /**
   * Turns a driver error into a `DatabaseError` where it is one; other
   * values are returned unchanged.
   */
  mapError(error: unknown, timing: ErrorTiming): unknown;
  /**
   * Runs `open` (connect, set the connection up, migrate) again while it
   * fails in a way a new try can cure; each try gets a new connection.
   * Default: `open` runs once.
   */
  retryOpen?<T>(open: () => Promise<T>): Promise<T>;
  /** Called once an open has migrated, before first use. Default: nothing. */
  afterMigrate?(): void;
}

/**
 * `db` with the dialect's row parsing applied to every result, or `db`
 * itself where the dialect has none (so SQLite pays nothing for it).
 */
export function withRowParsing(
  db: Kysely<SitqSchema>,
  dialect: SqlDialect,
): Kysely<SitqSchema> {
  const parseRow = dialect.parseRow?.bind(dialect);
  return parseRow === undefined
    ? db
    : db.withPlugin(new ParseRowsPlugin(parseRow));
}

/** Applies a row parser to every result, compiled queries' included. */
class ParseRowsPlugin implements KyselyPlugin {
  readonly #parseRow: (row: UnknownRow) => UnknownRow;

  constructor(parseRow: (row: UnknownRow) => UnknownRow) {
    this.#parseRow = parseRow;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }

  transformResult(
    args: PluginTransformResultArgs,
  ): Promise<QueryResult<UnknownRow>> {
    const { result } = args;
    return Promise.resolve({
      ...result,
      rows: result.rows.map(this.#parseRow),
    });
  }
}
