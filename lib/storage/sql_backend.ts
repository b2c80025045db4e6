/**
 * The SQL implementation of {@linkcode Backend}, written once with Kysely
 * for every database: each method maps to its statements in `queries/`,
 * one module per operation, run through the open database
 * (`sql_session.ts`: opening, reads, writes and what subscribers hear).
 * The methods are grouped by concern into helper objects this class
 * composes and delegates to: inserts (`task_writes.ts`), the worker step,
 * leases and worker registry (`worker_writes.ts`), single-task changes
 * (`task_edits.ts`), bulk operations and event subscribers
 * (`task_control.ts`), schedules (`schedule_store.ts`) and the user's
 * transactions (`user_transactions.ts`); they share the compiled
 * statements (`sql_statements.ts`). What differs between databases comes
 * from the {@linkcode SqlDialect}.
 *
 * @module
 */
import type { Transaction } from "kysely";
import type { Unsubscribe } from "../core/events.ts";
import type { TaskStatus } from "../core/types.ts";
import type {
  AttemptRow,
  Backend,
  BackendChange,
  ClaimRequest,
  DueExceptQuery,
  EventPage,
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
  QueueRow,
  QueueSettingsChange,
  SettleAndClaimResult,
  Settlement,
  SubscriberBeat,
  SubscriberRow,
  TaskFilterQuery,
  TaskRow,
  TransitionResult,
  WorkerRow,
} from "./backend.ts";
import type { SqlDialect } from "./dialect.ts";
import {
  countByName,
  countByStatus,
  countDueExcept,
  listTasks,
  selectAttempts,
  selectTask,
} from "./queries/inspect_tasks.ts";
import * as queues from "./queries/queues.ts";
import type {
  ScheduleFired,
  ScheduleFiring,
  ScheduleRow,
  ScheduleSaved,
  ScheduleWrite,
} from "./schedule_rows.ts";
import { type SqlHelpers, sqlHelpers } from "./sql_helpers.ts";
import type { SqlSession } from "./sql_session.ts";
import { runProgram } from "./write_program.ts";

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

  /** The helper objects, one per concern (`sql_helpers.ts`). */
  readonly #h: SqlHelpers;
  readonly #session: SqlSession;

  /**
   * Creates a backend on a dialect; subclasses call this.
   *
   * @param dialect What the database supplies.
   * @param options Options shared by SQL backends.
   */
  constructor(dialect: SqlDialect, options: SqlBackendOptions = {}) {
    this.description = dialect.description;
    this.#h = sqlHelpers(dialect, options.changePollInterval);
    this.#session = this.#h.session;
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
  insertTasks(
    tasks: readonly NewTaskRow[],
    options: InsertOptions = {},
  ): Promise<number[] | InsertOutcome[]> {
    return this.#h.writes.insertTasks(tasks, options);
  }

  /**
   * Inserts a graph of tasks and their dependencies in one transaction (or
   * the caller's); returns the ids in order. See `Backend.insertGraph`.
   */
  insertGraph(
    tasks: readonly NewGraphTask[],
    options: GraphInsertOptions = {},
  ): Promise<number[]> {
    return this.#h.writes.insertGraph(tasks, options);
  }

  /** The parents of task `id` with their results, in the order given. */
  getParents(id: number): Promise<ParentRow[]> {
    return this.#session.read((db) =>
      runProgram(this.#h.statements.dependentsFor(db).parents(id), db)
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
    return this.#h.transactions.run(fn);
  }

  /**
   * Settles finished attempts and claims new tasks in one transaction; the
   * tasks that waited for those that ended are released or cancelled in
   * it too (`workflow_writes.ts`).
   */
  settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult> {
    return this.#h.workers.settleAndClaim(settlements, claim);
  }

  /** Extends the leases `tokens` still fence; returns the ids renewed. */
  renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>> {
    return this.#h.workers.renewLeases(tokens, leaseExpiresAt);
  }

  /** Requeues (or fails) tasks whose lease expired, recording lost attempts. */
  recoverExpiredLeases(now: number, error: string): Promise<number[]> {
    return this.#h.workers.recoverExpiredLeases(now, error);
  }

  /** Stores progress while `token` still fences the running attempt. */
  saveProgress(token: FencingToken, progress: string): Promise<boolean> {
    return this.#h.workers.saveProgress(token, progress);
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
  registerWorker(worker: WorkerRow): Promise<void> {
    return this.#h.workers.registerWorker(worker);
  }

  /** Refreshes a worker's heartbeat; false when it has no row. */
  heartbeatWorker(workerId: string, now: number): Promise<boolean> {
    return this.#h.workers.heartbeatWorker(workerId, now);
  }

  /** Deletes a worker's row from the registry. */
  removeWorker(workerId: string): Promise<void> {
    return this.#h.workers.removeWorker(workerId);
  }

  /** The registered workers whose heartbeat is not older than `staleAfter` ms. */
  listWorkers(now: number, staleAfter: number): Promise<WorkerRow[]> {
    return this.#h.workers.listWorkers(now, staleAfter);
  }

  /** Creates or updates a schedule (schema v10); see `Backend.saveSchedule`. */
  saveSchedule(schedule: ScheduleWrite): Promise<ScheduleSaved> {
    return this.#h.schedules.save(schedule);
  }

  /** Every schedule, by name. */
  listSchedules(): Promise<ScheduleRow[]> {
    return this.#h.schedules.list();
  }

  /** One schedule, or undefined. */
  getSchedule(name: string): Promise<ScheduleRow | undefined> {
    return this.#h.schedules.get(name);
  }

  /** Pauses or resumes a schedule; see `Backend.pauseSchedule`. */
  pauseSchedule(
    name: string,
    paused: boolean,
    nextRunAt: number | null,
    now: number,
  ): Promise<ScheduleRow | undefined> {
    return this.#h.schedules.pause(name, paused, nextRunAt, now);
  }

  /** Deletes a schedule; false when there was none. */
  removeSchedule(name: string): Promise<boolean> {
    return this.#h.schedules.remove(name);
  }

  /** Fires a schedule's due slots; see `Backend.fireSchedule`. */
  fireSchedule(firing: ScheduleFiring): Promise<ScheduleFired | undefined> {
    return this.#h.schedules.fire(firing);
  }

  /** Cancels a waiting, queued or running task, and its dependents with it. */
  cancel(id: number, now: number): Promise<TransitionResult> {
    return this.#h.edits.cancel(id, now);
  }

  /** Puts a failed or cancelled task back in the queue. */
  requeue(id: number, now: number): Promise<TransitionResult> {
    return this.#h.edits.requeue(id, now);
  }

  /** Deletes finished tasks and their history. */
  prune(statuses: readonly TaskStatus[], before: number): Promise<number> {
    return this.#h.edits.prune(statuses, before);
  }

  /** Cancels the waiting, queued or running tasks `filter` selects. */
  cancelTasks(filter: TaskFilterQuery, now: number): Promise<number> {
    return this.#h.control.cancelTasks(filter, now);
  }

  /** Requeues the failed or cancelled tasks `filter` selects. */
  requeueTasks(filter: TaskFilterQuery, now: number): Promise<number> {
    return this.#h.control.requeueTasks(filter, now);
  }

  /** Deletes the finished tasks `filter` selects. */
  deleteTasks(filter: TaskFilterQuery): Promise<number> {
    return this.#h.control.deleteTasks(filter);
  }

  /** The tasks among `ids` that are cancelled. */
  cancelledAmong(ids: readonly number[]): Promise<number[]> {
    return this.#h.control.cancelledAmong(ids);
  }

  /** Registers an event subscriber; returns its starting cursor. */
  registerSubscriber(row: SubscriberRow): Promise<number> {
    return this.#h.control.registerSubscriber(row);
  }

  /** Refreshes an event subscriber's row; false when it is gone. */
  heartbeatSubscriber(beat: SubscriberBeat): Promise<boolean> {
    return this.#h.control.heartbeatSubscriber(beat);
  }

  /** Deletes an event subscriber's row. */
  removeSubscriber(id: string, now: number): Promise<void> {
    return this.#h.control.removeSubscriber(id, now);
  }

  /** The task events after `cursor`. */
  readEvents(cursor: number, limit: number): Promise<EventPage> {
    return this.#h.control.readEvents(cursor, limit);
  }

  /** Creates or changes a queue's settings row; see `Backend.updateQueue`. */
  async updateQueue(
    name: string,
    change: QueueSettingsChange,
    now: number,
  ): Promise<void> {
    await this.#session.writeWith(
      (trx) => queues.updateQueue(trx, name, change, now),
      // Announced as work: a resumed or loosened queue may have due tasks,
      // and other processes' claims must look at the settings again.
      { changes: () => [{ type: "enqueued", runAt: now }] },
    );
    this.#h.statements.limits.reset();
  }

  /** Every queue with tasks or settings; see `Backend.listQueues`. */
  listQueues(now: number, name?: string): Promise<QueueRow[]> {
    return this.#session.read((db) => queues.listQueues(db, now, name));
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
