/**
 * The SQL implementation of {@linkcode Backend}, written once with Kysely
 * for every database. This file is the plumbing: opening and migrating,
 * running each call on the open database (`#run`) or in a write transaction
 * (`#write`), telling subscribers what changed after each commit (step 1
 * of the wake-up path described in `change_feed.ts`), and closing. The statements live in `queries/`, one module per operation;
 * what differs between databases comes from the {@linkcode SqlDialect}.
 *
 * @module
 */
import type { Kysely, Transaction } from "kysely";
import { DatabaseError } from "../core/errors.ts";
import type { Unsubscribe } from "../core/events.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import { isFinalStatus } from "../core/statuses.ts";
import type { TaskStatus } from "../core/types.ts";
import type {
  AttemptRow,
  Backend,
  BackendChange,
  ClaimRequest,
  DueExceptQuery,
  FencingToken,
  InsertOptions,
  ListQuery,
  NameCount,
  NameStatusCount,
  NewTaskRow,
  SettleAndClaimResult,
  Settlement,
  TaskRow,
  TransitionResult,
} from "./backend.ts";
import { ChangeFeed } from "./change_feed.ts";
import {
  DEFAULT_CLAIM_LOCKING,
  type SqlDialect,
  withRowParsing,
} from "./dialect.ts";
import { macrotaskTurn } from "./macrotask_turn.ts";
import {
  assertOutsideTransaction,
  runInTransactionScope,
} from "./transaction_scope.ts";
import type { QueryRunner } from "./prepared_query.ts";
import { ClaimTasks } from "./queries/claim_tasks.ts";
import { InsertTasks } from "./queries/insert_tasks.ts";
import {
  countByName,
  countByStatus,
  countDueExcept,
  listTasks,
  selectAttempts,
  selectTask,
} from "./queries/inspect_tasks.ts";
import { cancelTask, pruneTasks, requeueTask } from "./queries/manage_tasks.ts";
import { recoverExpiredLeases } from "./queries/recover_leases.ts";
import { renewLeases } from "./queries/renew_leases.ts";
import { saveProgress } from "./queries/save_progress.ts";
import { SettleAttempts } from "./queries/settle_attempts.ts";
import type { SitqSchema } from "./schema.ts";

/**
 * Options every SQL backend takes. Each public backend's options type
 * declares and documents them again for its users (`SQLiteBackendOptions`),
 * since this type is internal.
 */
export interface SqlBackendOptions {
  /**
   * Milliseconds between checks for other processes' commits while anyone
   * subscribes (see `change_feed.ts`); 0 disables them.
   *
   * @default {100, or 1000 while the dialect's write watch is live}
   */
  changePollInterval?: number;
}

/**
 * The dialect-independent SQL backend; `SQLiteBackend` is its SQLite face.
 * Internal: it is constructed only by the backends that extend it, with a
 * dialect whose types are Kysely's, so it is left out of the public docs.
 *
 * @ignore
 */
export class SqlBackend implements Backend, AsyncDisposable {
  /** A label for logs and error messages. */
  readonly description: string;

  #db: Kysely<SitqSchema> | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;
  readonly #feed: ChangeFeed;
  readonly #dialect: SqlDialect;
  // The hot statements, compiled on first use against the open database.
  #insert: InsertTasks | undefined;
  // How many transaction() calls are open, so the scope check costs the
  // hot path nothing while there are none.
  #userTransactions = 0;
  // The earliest run time inserted through each open transaction() call,
  // emitted once it commits.
  readonly #pendingInserts = new WeakMap<object, { runAt: number }>();
  #settle: SettleAttempts | undefined;
  #claim: ClaimTasks | undefined;

  /**
   * Creates a backend on a dialect; subclasses call this.
   *
   * @param dialect What the database supplies.
   * @param options Options shared by SQL backends.
   */
  constructor(dialect: SqlDialect, options: SqlBackendOptions = {}) {
    this.#dialect = dialect;
    this.description = dialect.description;
    this.#feed = new ChangeFeed({
      description: dialect.description,
      probe: () =>
        this.#run(async (db) => await dialect.hasExternalChanges(db)),
      pollInterval: options.changePollInterval ?? 100,
      watchedPollInterval: options.changePollInterval ?? 1000,
      watch: dialect.watchWrites,
      unwatchableReason: dialect.unwatchableReason,
      onError: () => {
        // A failed probe is retried at the next interval; workers also poll.
      },
    });
  }

  /**
   * Opens the database and brings its schema up to date. Every other method
   * calls it, so calling it yourself only makes errors surface earlier. A
   * failed open is tried again by the next call.
   *
   * @throws {DatabaseError} If the database cannot be opened or migrated.
   */
  open(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#opening ??= this.#openOnce().catch((error) => {
      // Forget the failure: a lock held by another process during the
      // migration, or a directory created later, must not leave the backend
      // failing forever while workers keep retrying.
      this.#opening = undefined;
      throw error;
    });
    return this.#opening;
  }

  async #openOnce(): Promise<void> {
    const dialect = this.#dialect;
    const started = performance.now();
    const openAndMigrate = async () => {
      const db = withRowParsing(dialect.createKysely(), dialect);
      try {
        await dialect.withWriteLock(() =>
          transact(db, async (trx) => {
            await dialect.lockForMigration?.(trx);
            await dialect.migrate(trx);
          })
        );
      } catch (error) {
        await db.destroy().catch(() => {});
        throw error;
      }
      return db;
    };
    let db: Kysely<SitqSchema>;
    try {
      db = dialect.retryOpen === undefined
        ? await openAndMigrate()
        : await dialect.retryOpen(openAndMigrate);
    } catch (error) {
      throw dialect.mapError(error, { elapsedMs: performance.now() - started });
    }
    dialect.afterMigrate?.();
    this.#db = db;
  }

  #closedError(): DatabaseError {
    return new DatabaseError(
      "CLOSED",
      `Cannot use ${this.description}: it was closed; create a new backend`,
    );
  }

  async #run<T>(fn: (db: Kysely<SitqSchema>) => Promise<T>): Promise<T> {
    if (this.#userTransactions > 0) {
      assertOutsideTransaction(this, this.description);
    }
    // Synchronous drivers settle every call in microtasks; see macrotask_turn.
    const turn = macrotaskTurn();
    if (turn !== undefined) await turn;
    await this.open();
    const db = this.#db;
    if (db === undefined || this.#closed) throw this.#closedError();
    const started = performance.now();
    try {
      return await fn(db);
    } catch (error) {
      // Whatever the driver says about a handle closed under this call, the
      // caller's problem is that the backend was closed.
      if (this.#closed) throw this.#closedError();
      throw this.#dialect.mapError(error, {
        elapsedMs: performance.now() - started,
      });
    }
  }

  /**
   * Runs `fn` in a write transaction. `durable: false` is for writes whose
   * loss in a power cut is harmless because delivery is at-least-once anyway
   * (a claim, a lease renewal, progress): the dialect may skip the sync
   * that makes a commit survive power loss. The next durable commit covers
   * them too. `changes` says, from `fn`'s result, what the write changed:
   * the dialect's `beforeCommit` announces it inside the transaction (to
   * other processes), and subscribers hear of it once it has committed.
   */
  async #write<T>(
    fn: (trx: Transaction<SitqSchema>, db: Kysely<SitqSchema>) => Promise<T>,
    { durable = true, changes }: {
      durable?: boolean;
      changes?: (result: T) => readonly BackendChange[];
    } = {},
  ): Promise<T> {
    const dialect = this.#dialect;
    this.#feed.ownWrite();
    let made: readonly BackendChange[] = [];
    const result = await this.#run((db) =>
      dialect.withWriteLock(() => {
        const write = (connection: Kysely<SitqSchema>) =>
          transact(connection, async (trx) => {
            const result = await fn(trx, db);
            made = changes?.(result) ?? [];
            if (
              dialect.beforeCommit !== undefined &&
              (made.length > 0 || !durable)
            ) {
              await dialect.beforeCommit(trx, { durable, changes: made });
            }
            return result;
          });
        return durable || dialect.relaxedCommit === undefined
          ? write(db)
          : dialect.relaxedCommit(db, write);
      })
    );
    for (const change of made) this.#feed.emit(change);
    return result;
  }

  /**
   * Inserts tasks in one transaction and returns their ids; with
   * `options.transaction`, in the caller's transaction instead.
   */
  async insertTasks(
    tasks: readonly NewTaskRow[],
    options: InsertOptions = {},
  ): Promise<number[]> {
    if (tasks.length === 0) return [];
    if (options.transaction !== undefined) {
      return await this.#insertIn(options.transaction, tasks);
    }
    let runAt = Infinity;
    for (const task of tasks) runAt = Math.min(runAt, task.runAt);
    return await this.#write(
      (trx, db) => (this.#insert ??= new InsertTasks(db)).run(trx, tasks),
      { changes: () => [{ type: "enqueued", runAt }] },
    );
  }

  /**
   * Inserts in the caller's transaction. The statements are compiled here
   * (for this database, its schema included) and run on the caller's
   * connection; the commit is the caller's, so nothing is emitted to this
   * process's subscribers now: other connections' commits reach them
   * through the change probe, as another process's would.
   */
  async #insertIn(
    transaction: DatabaseTransaction,
    tasks: readonly NewTaskRow[],
  ): Promise<number[]> {
    const pending = this.#pendingInserts.get(transaction);
    // Inside this backend's own transaction() the database is open and
    // #run must not be entered (see transaction_scope.ts).
    const db = pending === undefined
      ? await this.#run((db) => Promise.resolve(db))
      : this.#db!;
    const insert = this.#insert ??= new InsertTasks(db);
    // The caller's driver reports its own errors: the statement ran on its
    // connection, in its transaction, not on this backend's.
    const ids = await insert.run(transaction as unknown as QueryRunner, tasks);
    let runAt = Infinity;
    for (const task of tasks) runAt = Math.min(runAt, task.runAt);
    if (pending !== undefined) pending.runAt = Math.min(pending.runAt, runAt);
    // Announced in the same transaction (PostgreSQL: NOTIFY), so it reaches
    // other processes when the caller commits, and not if it rolls back.
    await this.#dialect.beforeCommit?.(transaction as unknown as QueryRunner, {
      durable: true,
      changes: [{ type: "enqueued", runAt }],
      committedHere: pending !== undefined,
    });
    return ids;
  }

  /**
   * Runs `fn` in a write transaction on this backend's own connection and
   * commits when it resolves (rolls back when it throws), for writing your
   * own rows and enqueueing tasks atomically: enqueue inside it with
   * `queue.inTransaction(trx)`, and use `trx` (a Kysely transaction) for
   * your tables in the same database.
   *
   * On SQLite this is the way to do it within one process: SQLite has one
   * writer at a time, and a second connection of your own waiting for
   * sitq's lock would block the event loop that sitq needs to release it.
   * Other processes may use their own connections. Inside `fn`, call this
   * backend only through `trx` and `queue.inTransaction(trx)`: a plain
   * `queue.enqueue` or read would wait for the transaction itself, so it
   * throws `InvalidStateError` instead. Other callers (workers) wait until
   * the transaction ends, so keep it short.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const backend = new SQLiteBackend(":memory:");
   * const queue = new TaskQueue(backend);
   * const welcome = queue.task("welcome", (userId: number) => userId);
   * await backend.transaction(async (trx) => {
   *   await trx.schema.createTable("users").ifNotExists()
   *     .addColumn("id", "integer", (c) => c.primaryKey()).execute();
   *   await trx.insertInto("users").values({ id: 1 }).execute();
   *   await queue.inTransaction(trx).enqueue(welcome, 1);
   * });
   * console.log((await queue.stats()).queued); // 1
   * await queue.close();
   * ```
   *
   * @typeParam T What `fn` resolves to.
   * @typeParam DB Your tables, as Kysely types them.
   * @param fn Your writes, given the transaction.
   * @returns What `fn` resolved to, once committed.
   * @throws What `fn` throws (after the rollback), or a `DatabaseError` if
   * the commit fails.
   */
  async transaction<T, DB = Record<string, Record<string, unknown>>>(
    fn: (trx: Transaction<DB>) => Promise<T>,
  ): Promise<T> {
    const pending = { runAt: Infinity };
    this.#userTransactions++;
    let result: T;
    try {
      result = await this.#write((trx) => {
        this.#pendingInserts.set(trx, pending);
        return runInTransactionScope(
          this,
          () => fn(trx as unknown as Transaction<DB>),
        );
      });
    } finally {
      this.#userTransactions--;
    }
    if (pending.runAt !== Infinity) {
      this.#feed.emit({ type: "enqueued", runAt: pending.runAt });
    }
    return result;
  }

  /** Settles finished attempts and claims new tasks in one transaction. */
  async settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult> {
    const result = await this.#write(async (trx, db) => {
      const applied = await (this.#settle ??= new SettleAttempts(db))
        .run(trx, settlements);
      if (claim === undefined || claim.limit <= 0) {
        return { applied, claimed: [] };
      }
      const claims = this.#claim ??= new ClaimTasks(
        db,
        this.#dialect.claimLocking ?? DEFAULT_CLAIM_LOCKING,
      );
      const claimed = await claims.run(trx, claim);
      // Only a short claim asks: a full one may leave due work behind.
      if (claimed.length === claim.limit) return { applied, claimed };
      const nextRunAt = await claims.nextRunAt(trx, claim);
      return nextRunAt === undefined
        ? { applied, claimed }
        : { applied, claimed, nextRunAt };
    }, {
      durable: settlements.length > 0,
      changes: () =>
        settlements.length === 0 ? [] : [{
          type: "settled",
          ids: settlements.map((settlement) => settlement.id),
        }],
    });
    return result;
  }

  /** Extends the leases `tokens` still fence; returns the ids renewed. */
  async renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>> {
    if (tokens.length === 0) return new Set();
    return await this.#write(
      (trx) => renewLeases(trx, tokens, leaseExpiresAt),
      { durable: false },
    );
  }

  /** Requeues (or fails) tasks whose lease expired, recording lost attempts. */
  async recoverExpiredLeases(now: number, error: string): Promise<number[]> {
    return await this.#write(
      (trx) => recoverExpiredLeases(trx, now, error),
      {
        changes: (recovered) =>
          recovered.length === 0 ? [] : [
            { type: "settled", ids: recovered },
            { type: "enqueued", runAt: now },
          ],
      },
    );
  }

  /** Stores progress while `token` still fences the running attempt. */
  async saveProgress(token: FencingToken, progress: string): Promise<boolean> {
    return await this.#write(
      (trx) => saveProgress(trx, token, progress),
      { durable: false },
    );
  }

  /** Reads one task. */
  getTask(id: number): Promise<TaskRow | undefined> {
    return this.#run((db) => selectTask(db, id));
  }

  /** Reads a task's attempt history. */
  getAttempts(id: number): Promise<AttemptRow[]> {
    return this.#run((db) => selectAttempts(db, id));
  }

  /** Lists tasks, newest first. */
  listTasks(query: ListQuery): Promise<TaskRow[]> {
    // An empty status list matches no task (and `in ()` is not valid SQL).
    if (query.statuses?.length === 0) return Promise.resolve([]);
    return this.#run((db) => listTasks(db, query));
  }

  /** Counts tasks per status. */
  countByStatus(): Promise<Partial<Record<TaskStatus, number>>> {
    return this.#run(countByStatus);
  }

  /** Counts tasks per name and status. */
  countByName(): Promise<NameStatusCount[]> {
    return this.#run(countByName);
  }

  /** Counts due queued tasks of names outside `query.names`, reading at most `query.limit`. */
  countDueExcept(query: DueExceptQuery): Promise<NameCount[]> {
    return this.#run((db) => countDueExcept(db, query));
  }

  /** Cancels a queued task. */
  async cancel(id: number, now: number): Promise<TransitionResult> {
    return await this.#write((trx) => cancelTask(trx, id, now), {
      changes: (result) =>
        result.changed ? [{ type: "settled", ids: [id] }] : [],
    });
  }

  /** Puts a failed or cancelled task back in the queue. */
  async requeue(id: number, now: number): Promise<TransitionResult> {
    return await this.#write((trx) => requeueTask(trx, id, now), {
      changes: (result) =>
        result.changed ? [{ type: "enqueued", runAt: now }] : [],
    });
  }

  /** Deletes finished tasks and their history. */
  async prune(
    statuses: readonly TaskStatus[],
    before: number,
  ): Promise<number> {
    const final = statuses.filter(isFinalStatus);
    // Only final statuses are pruned: with none, there is nothing to write.
    if (final.length === 0) return 0;
    return await this.#write((trx) => pruneTasks(trx, final, before));
  }

  /** Subscribes to changes; see {@linkcode BackendChange}. */
  subscribe(listener: (change: BackendChange) => void): Unsubscribe {
    return this.#feed.subscribe(listener);
  }

  /** Closes the database. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.close();
    const opening = this.#opening;
    if (opening !== undefined) await opening.catch(() => {});
    const db = this.#db;
    if (db !== undefined) {
      // Let a transaction or query already running finish first: closing
      // the handle under it would leave a half-done write, and on some
      // drivers its lock, behind.
      await this.#dialect.withWriteLock(() =>
        db.connection().execute(async () => {})
      ).catch(() => {});
      await db.destroy();
    }
    this.#db = undefined;
  }

  /** Closes the database (`await using backend = ...`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Runs `fn` in a transaction on `db` and commits. When a statement or the
 * commit fails, the transaction is rolled back and that first error is the
 * one the caller sees. SQLite ends a transaction by itself on some failures
 * (a full disk, an I/O error), and the rollback then fails with "no
 * transaction is active": reported instead, that would hide why the write
 * failed (Kysely's `transaction().execute()` reports the rollback's error).
 */
async function transact<T>(
  db: Kysely<SitqSchema>,
  fn: (trx: Transaction<SitqSchema>) => Promise<T>,
): Promise<T> {
  const trx = await db.startTransaction().execute();
  try {
    const result = await fn(trx);
    await trx.commit().execute();
    return result;
  } catch (error) {
    try {
      await trx.rollback().execute();
    } catch {
      // Ended by SQLite already, or the rollback failed too: the first error
      // says what happened. The connection is released either way, and the
      // dialect's next BEGIN ends any transaction this left open.
    }
    throw error;
  }
}
