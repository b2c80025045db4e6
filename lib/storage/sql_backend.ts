/**
 * The SQL implementation of {@linkcode Backend}, written once with Kysely
 * for every database: each method maps to its statements in `queries/`,
 * one module per operation, run through the open database
 * (`sql_session.ts`: opening, reads, writes and what subscribers hear);
 * the user's transactions are `user_transactions.ts`. What differs between
 * databases comes from the {@linkcode SqlDialect}.
 *
 * @module
 */
import type { Kysely, Transaction } from "kysely";
import type { Unsubscribe } from "../core/events.ts";
import { isFinalStatus } from "../core/statuses.ts";
import type { TaskStatus } from "../core/types.ts";
import type {
  AttemptRow,
  Backend,
  BackendChange,
  ClaimRequest,
  DueExceptQuery,
  FencingToken,
  GraphInsertOptions,
  InsertOptions,
  InsertOutcome,
  ListQuery,
  NameCount,
  NameStatusCount,
  NewGraphTask,
  NewTaskRow,
  ParentRow,
  SettleAndClaimResult,
  Settlement,
  TaskRow,
  TransitionResult,
  WorkerRow,
} from "./backend.ts";
import { DEFAULT_CLAIM_LOCKING, type SqlDialect } from "./dialect.ts";
import { InsertGraph } from "./queries/insert_graph.ts";
import { InsertRows } from "./queries/insert_rows.ts";
import {
  countByName,
  countByStatus,
  countDueExcept,
  listTasks,
  selectAttempts,
  selectTask,
} from "./queries/inspect_tasks.ts";
import { cancelTask, pruneTasks } from "./queries/manage_tasks.ts";
import {
  anyExpiredLease,
  recoverExpiredLeases,
} from "./queries/recover_leases.ts";
import { renewLeases } from "./queries/renew_leases.ts";
import {
  isKeyConflict,
  otherKeyHolder,
  requeueKeyed,
} from "./queries/requeue_keyed.ts";
import { saveProgress } from "./queries/save_progress.ts";
import { Dependents } from "./queries/release_dependents.ts";
import { SettleAndClaim } from "./queries/settle_and_claim.ts";
import * as workers from "./queries/workers.ts";
import type { SitqSchema } from "./schema.ts";
import { SqlSession } from "./sql_session.ts";
import { UserTransactions } from "./user_transactions.ts";
import { runProgram } from "./write_program.ts";
import {
  afterCancel,
  afterRequeue,
  requeueBlockedBy,
  type SettledWithDependents,
  settleThenRelease,
} from "./workflow_writes.ts";

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

  readonly #session: SqlSession;
  readonly #dialect: SqlDialect;
  readonly #transactions: UserTransactions;
  // The hot statements, compiled on first use against the open database
  // (one instance for the backend's life: a failed open is retried on a
  // new one, but nothing is compiled before an open succeeds).
  #insert: InsertRows | undefined;
  #settleAndClaim: SettleAndClaim | undefined;
  #dependents: Dependents | undefined;
  #graph: InsertGraph | undefined;

  /**
   * Creates a backend on a dialect; subclasses call this.
   *
   * @param dialect What the database supplies.
   * @param options Options shared by SQL backends.
   */
  constructor(dialect: SqlDialect, options: SqlBackendOptions = {}) {
    this.#dialect = dialect;
    this.description = dialect.description;
    this.#session = new SqlSession(dialect, options.changePollInterval);
    this.#transactions = new UserTransactions(
      this.#session,
      dialect,
      (db) => this.#insertFor(db),
      (db) => this.#graphFor(db),
    );
  }

  #insertFor(db: Kysely<SitqSchema>): InsertRows {
    return this.#insert ??= new InsertRows(db);
  }

  #locking() {
    return this.#dialect.claimLocking ?? DEFAULT_CLAIM_LOCKING;
  }

  #dependentsFor(db: Kysely<SitqSchema>): Dependents {
    return this.#dependents ??= new Dependents(db, this.#locking());
  }

  #graphFor(db: Kysely<SitqSchema>): InsertGraph {
    return this.#graph ??= new InsertGraph(
      db,
      this.#locking(),
      this.#dependentsFor(db),
    );
  }

  /**
   * Opens the database and brings its schema up to date. Every other method
   * calls it, so calling it yourself only makes errors surface earlier. A
   * failed open is tried again by the next call.
   *
   * @throws {DatabaseError} If the database cannot be opened or migrated.
   */
  open(): Promise<void> {
    return this.#session.open();
  }

  /**
   * Inserts tasks in one transaction and returns their ids (or, with
   * `outcomes: true`, an outcome per row); with `options.transaction`, in
   * the caller's transaction instead.
   */
  insertTasks(
    tasks: readonly NewTaskRow[],
    options?: InsertOptions & { outcomes?: false },
  ): Promise<number[]>;
  /** Inserts tasks; returns an outcome per row. */
  insertTasks(
    tasks: readonly NewTaskRow[],
    options: InsertOptions & { outcomes: true },
  ): Promise<InsertOutcome[]>;
  async insertTasks(
    tasks: readonly NewTaskRow[],
    options: InsertOptions = {},
  ): Promise<number[] | InsertOutcome[]> {
    if (tasks.length === 0) return [];
    const outcomes = options.outcomes === true;
    if (options.transaction !== undefined) {
      return await this.#transactions.insertIn(
        options.transaction,
        tasks,
        outcomes,
      );
    }
    let runAt = Infinity;
    for (const task of tasks) runAt = Math.min(runAt, task.runAt);
    const changes = (): BackendChange[] => [{ type: "enqueued", runAt }];
    return outcomes
      ? await this.#session.write(
        (db) => this.#insertFor(db).outcomes(tasks),
        { changes },
      )
      : await this.#session.write(
        (db) => this.#insertFor(db).ids(tasks),
        { changes },
      );
  }

  /**
   * Inserts a graph of tasks and their dependencies in one transaction (or
   * the caller's); returns the ids in order. See `Backend.insertGraph`.
   */
  async insertGraph(
    tasks: readonly NewGraphTask[],
    options: GraphInsertOptions = {},
  ): Promise<number[]> {
    if (tasks.length === 0) return [];
    if (options.transaction !== undefined) {
      return await this.#transactions.graphIn(options.transaction, tasks);
    }
    const inserted = await this.#session.write(
      (db) => this.#graphFor(db).run(tasks),
      {
        changes: ({ queuedRunAt }) =>
          queuedRunAt === undefined
            ? []
            : [{ type: "enqueued", runAt: queuedRunAt }],
      },
    );
    return inserted.ids;
  }

  /** The parents of task `id` with their results, in the order given. */
  getParents(id: number): Promise<ParentRow[]> {
    return this.#session.read((db) =>
      runProgram(this.#dependentsFor(db).parents(id), db)
    );
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
  transaction<T, DB = Record<string, Record<string, unknown>>>(
    fn: (trx: Transaction<DB>) => Promise<T>,
  ): Promise<T> {
    return this.#transactions.run(fn);
  }

  /**
   * Settles finished attempts and claims new tasks in one transaction; the
   * tasks that waited for those that ended are released or cancelled in
   * it too (`workflow_writes.ts`).
   */
  async settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult> {
    const alone = this.#dialect.settleAndClaimAlone;
    if (alone !== undefined) {
      // The dialect's one-round-trip form; undefined: nothing written, the
      // transaction below must do it (dependents to release).
      const done = await this.#session.read(() =>
        alone.call(this.#dialect, settlements, claim)
      );
      if (done !== undefined) {
        if (settlements.length > 0) {
          this.#session.emit({
            type: "settled",
            ids: settlements.map((settlement) => settlement.id),
          });
        }
        return done;
      }
    }
    const { result } = await this.#session.write(
      (db) =>
        settleThenRelease(
          (this.#settleAndClaim ??= new SettleAndClaim(db, this.#locking()))
            .run(settlements, claim),
          settlements,
          this.#dependentsFor(db),
        ),
      {
        durable: settlements.length > 0,
        changes: (written: SettledWithDependents) =>
          settlements.length === 0 ? [] : [
            {
              type: "settled",
              ids: [
                ...settlements.map((settlement) => settlement.id),
                ...written.cancelled,
              ],
            },
            ...(written.result.releasedRunAt === undefined ? [] : [{
              type: "enqueued" as const,
              runAt: written.result.releasedRunAt,
            }]),
          ],
      },
    );
    return result;
  }

  /** Extends the leases `tokens` still fence; returns the ids renewed. */
  async renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>> {
    if (tokens.length === 0) return new Set();
    return await this.#session.writeWith(
      (trx) => renewLeases(trx, tokens, leaseExpiresAt),
      { durable: false },
    );
  }

  /** Requeues (or fails) tasks whose lease expired, recording lost attempts. */
  async recoverExpiredLeases(now: number, error: string): Promise<number[]> {
    // Nearly every call finds nothing: a read says so without a write
    // transaction. A lease expiring just after it is found by the next call.
    if (!(await this.#session.read((db) => anyExpiredLease(db, now)))) {
      return [];
    }
    return await this.#session.writeWith(
      async (trx, db) => {
        const recovered = await recoverExpiredLeases(trx, now, error);
        // Those that failed for good end their dependents' wait.
        await runProgram(
          this.#dependentsFor(db).afterEnded(recovered, now),
          trx,
        );
        return recovered;
      },
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
    return await this.#session.writeWith(
      (trx) => saveProgress(trx, token, progress),
      { durable: false },
    );
  }

  /** Reads one task. */
  getTask(id: number): Promise<TaskRow | undefined> {
    return this.#session.read((db) => selectTask(db, id));
  }

  /** Reads a task's attempt history. */
  getAttempts(id: number): Promise<AttemptRow[]> {
    return this.#session.read((db) => selectAttempts(db, id));
  }

  /** Lists tasks, newest first. */
  listTasks(query: ListQuery): Promise<TaskRow[]> {
    // An empty status list matches no task (and `in ()` is not valid SQL).
    if (query.statuses?.length === 0) return Promise.resolve([]);
    return this.#session.read((db) => listTasks(db, query));
  }

  /** Counts tasks per status. */
  countByStatus(): Promise<Partial<Record<TaskStatus, number>>> {
    return this.#session.read(countByStatus);
  }

  /** Counts tasks per name and status. */
  countByName(): Promise<NameStatusCount[]> {
    return this.#session.read(countByName);
  }

  /** Counts due queued tasks of names outside `query.names`, reading at most `query.limit`. */
  countDueExcept(query: DueExceptQuery): Promise<NameCount[]> {
    return this.#session.read((db) => countDueExcept(db, query));
  }

  /** Writes a worker's row in the registry of running workers. */
  async registerWorker(worker: WorkerRow): Promise<void> {
    await this.#session.writeWith(
      (trx) => workers.registerWorker(trx, worker),
      { durable: false },
    );
  }

  /** Refreshes a worker's heartbeat; false when it has no row. */
  heartbeatWorker(workerId: string, now: number): Promise<boolean> {
    return this.#session.writeWith(
      (trx) => workers.heartbeatWorker(trx, workerId, now),
      { durable: false },
    );
  }

  /** Deletes a worker's row from the registry. */
  async removeWorker(workerId: string): Promise<void> {
    await this.#session.writeWith(
      (trx) => workers.removeWorker(trx, workerId),
      { durable: false },
    );
  }

  /** The registered workers whose heartbeat is not older than `staleAfter` ms. */
  listWorkers(now: number, staleAfter: number): Promise<WorkerRow[]> {
    return this.#session.read((db) => workers.listWorkers(db, now, staleAfter));
  }

  /** Cancels a waiting or queued task, and its dependents with it. */
  async cancel(id: number, now: number): Promise<TransitionResult> {
    const { result } = await this.#session.writeWith(
      (trx, db) =>
        afterCancel(cancelTask(trx, id, now), trx, this.#dependentsFor(db), {
          id,
          now,
        }),
      {
        changes: ({ result, cancelled, released }) =>
          result.changed
            ? [
              { type: "settled", ids: [id, ...cancelled] },
              ...(released > 0
                ? [{ type: "enqueued" as const, runAt: now }]
                : []),
            ]
            : [],
      },
    );
    return result;
  }

  /** Puts a failed or cancelled task back in the queue. */
  async requeue(id: number, now: number): Promise<TransitionResult> {
    try {
      return await this.#session.writeWith(
        async (trx, db) => {
          const blockedBy = await requeueBlockedBy(trx, id);
          if (blockedBy !== undefined) {
            return {
              changed: false,
              row: await selectTask(trx, id),
              blockedBy,
            };
          }
          const result = await requeueKeyed(
            trx,
            this.#insertFor(db).holders,
            id,
            now,
          );
          return result.changed
            ? await afterRequeue(trx, this.#dependentsFor(db), id)
            : result;
        },
        {
          changes: (result) =>
            result.changed ? [{ type: "enqueued", runAt: now }] : [],
        },
      );
    } catch (error) {
      // PostgreSQL: another transaction took the task's key between the
      // check and the update, and the index refused a second holder.
      if (!isKeyConflict(error)) throw error;
      return await this.#session.read(async (db) => {
        const heldBy = await otherKeyHolder(
          db,
          this.#insertFor(db).holders,
          id,
        );
        if (heldBy === undefined) throw error;
        return { changed: false, row: await selectTask(db, id), heldBy };
      });
    }
  }

  /** Deletes finished tasks and their history. */
  async prune(
    statuses: readonly TaskStatus[],
    before: number,
  ): Promise<number> {
    const final = statuses.filter(isFinalStatus);
    // Only final statuses are pruned: with none, there is nothing to write.
    if (final.length === 0) return 0;
    return await this.#session.writeWith((trx) =>
      pruneTasks(trx, final, before)
    );
  }

  /** Subscribes to changes; see {@linkcode BackendChange}. */
  subscribe(listener: (change: BackendChange) => void): Unsubscribe {
    return this.#session.subscribe(listener);
  }

  /** Closes the database. Safe to call more than once. */
  close(): Promise<void> {
    return this.#session.close();
  }

  /** Closes the database (`await using backend = ...`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
