/**
 * Enqueueing inside the application's own transaction: the tasks commit or
 * roll back together with the application's rows (the "transactional
 * outbox" a relational queue makes free). `TaskQueue.inTransaction(trx)`
 * returns the {@linkcode TransactionalQueue} defined here.
 *
 * @module
 */
import type { TaskDeclaration } from "../core/declaration.ts";
import { mergeRunOptions, type RunOptions } from "../core/task.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { TaskId } from "../core/types.ts";
import { checkArgsList, type QueueInserts } from "./enqueue.ts";
import type { EnqueueManyOptions, UniqueEnqueueResult } from "./unique.ts";
import {
  type EnqueuedWorkflow,
  enqueueWorkflow,
  type Workflow,
} from "./workflow.ts";

/**
 * The enqueue half of a {@linkcode TaskQueue}, writing through a
 * transaction the application opened on the queue's database. Nothing is
 * visible to workers until the application commits; a rollback leaves no
 * task behind. Workers in this process and others notice the commit the
 * way they notice another process's enqueue (on PostgreSQL by the
 * notification the insert sends at commit; on SQLite through the
 * backend's change poll, within `changePollInterval`).
 *
 * Get one from {@linkcode TaskQueue.inTransaction}.
 *
 * @example An order and its confirmation email, committed together
 * ```ts ignore
 * import { Kysely, PostgresDialect } from "kysely";
 * import pg from "pg";
 * import { TaskQueue } from "sitq";
 * import { PostgresBackend } from "sitq/postgres";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const db = new Kysely<AppSchema>({ dialect: new PostgresDialect({ pool }) });
 * const queue = new TaskQueue(new PostgresBackend(pool));
 * const confirm = queue.task("order.confirm", (orderId: number) => sendEmail(orderId));
 *
 * await db.transaction().execute(async (trx) => {
 *   const { id } = await trx.insertInto("orders").values(order)
 *     .returning("id").executeTakeFirstOrThrow();
 *   await queue.inTransaction(trx).enqueue(confirm, id);
 * }); // both rows or neither
 * ```
 */
export class TransactionalQueue {
  readonly #transaction: DatabaseTransaction;
  readonly #inserts: QueueInserts;

  /** @ignore Made by `TaskQueue.inTransaction`. */
  constructor(transaction: DatabaseTransaction, inserts: QueueInserts) {
    this.#transaction = transaction;
    this.#inserts = inserts;
  }

  /**
   * Adds a run of `task` in the transaction; as `TaskQueue.enqueue`.
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A task or declaration registered on the queue.
   * @param args The handler's arguments.
   * @returns The id the task will have once the transaction commits.
   * @throws {UnknownTaskError} If `task` is not registered on the queue.
   * @throws {SerializationError} If an argument cannot be stored; nothing is written.
   * @throws {DuplicateKeyError} If the run's key is held and `onDuplicate`
   * is `"error"`; nothing is written, and the transaction stays usable.
   * @throws What the transaction's driver throws for the insert (e.g. when
   * the transaction has already ended or belongs to another database).
   */
  async enqueue<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    ...args: Args
  ): Promise<TaskId<Result>> {
    const [id] = await this.#inserts.ids(
      task,
      [args],
      task?.runOptions,
      this.#transaction,
    );
    return id as TaskId<Result>;
  }

  /**
   * Adds a run with a unique key in the transaction unless a task of its
   * name holds the key; as `TaskQueue.enqueueUnique`. A holder that
   * another transaction inserted and has not committed is waited for
   * (PostgreSQL): this call returns once that transaction ends, with the
   * holder if it committed, or a new task if it rolled back. Under
   * REPEATABLE READ or SERIALIZABLE, PostgreSQL may refuse such an insert
   * with a serialization failure instead; retry the transaction.
   *
   * @example An order's confirmation, once per order, with the order's rows
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const backend = new SQLiteBackend(":memory:");
   * const queue = new TaskQueue(backend);
   * const confirm = queue.task("confirm", (orderId: number) => orderId);
   * const result = await backend.transaction(async (trx) => {
   *   return await queue.inTransaction(trx)
   *     .enqueueUnique(confirm.with({ uniqueKey: "order:1" }), 1);
   * });
   * console.log(result.created); // true
   * await queue.close();
   * ```
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A task or declaration registered on the queue, with a
   * `uniqueKey` set by `with()`.
   * @param args The handler's arguments.
   * @returns What the enqueue did, and the id of the key's holder.
   * @throws {TypeError} If `task` has no `uniqueKey`.
   * @throws {DuplicateKeyError} If the key is held and `onDuplicate` is
   * `"error"`; nothing is written.
   * @throws {UnknownTaskError} If `task` is not registered on the queue.
   * @throws {SerializationError} If an argument cannot be stored; nothing is written.
   */
  async enqueueUnique<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    ...args: Args
  ): Promise<UniqueEnqueueResult<Result>> {
    const [result] = await this.#inserts.unique<Result>(
      task,
      [args],
      task?.runOptions,
      "enqueueUnique",
      this.#transaction,
    );
    return result!;
  }

  /**
   * Adds many runs of one task in the transaction; as `TaskQueue.enqueueMany`.
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A task or declaration registered on the queue.
   * @param argsList One argument list per run.
   * @param options Options for every run (merged over `task.with` options).
   * @returns The ids, in the order of `argsList`.
   * @throws {UnknownTaskError} If `task` is not registered on the queue.
   * @throws {SerializationError} If any argument cannot be stored; nothing is written.
   * @throws {DuplicateKeyError} If a run's key is held and `onDuplicate` is
   * `"error"`; nothing is written.
   */
  async enqueueMany<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    argsList: readonly Args[],
    options?: EnqueueManyOptions<Args>,
  ): Promise<TaskId<Result>[]> {
    checkArgsList(task, argsList);
    const ids = await this.#inserts.ids(
      task,
      argsList,
      mergeRunOptions(task?.runOptions, options as RunOptions),
      this.#transaction,
    );
    return ids as TaskId<Result>[];
  }

  /**
   * Enqueues a workflow's steps in the transaction; as
   * `TaskQueue.enqueueWorkflow`. On PostgreSQL the stored tasks it depends
   * on are locked (`FOR SHARE`) until the transaction ends, so a worker
   * settling one of them waits for your commit.
   *
   * @param workflow The steps, built with `new Workflow()` and `add()`.
   * @returns The ids of its steps, once the transaction commits.
   * @throws {WorkflowError} For a cycle, a self-dependency, a step of
   * another workflow or an unknown task id; nothing is written.
   * @throws {UnknownTaskError} If a step's task is not registered on the
   * queue.
   */
  async enqueueWorkflow(workflow: Workflow): Promise<EnqueuedWorkflow> {
    return await enqueueWorkflow(
      workflow,
      this.#inserts.context,
      this.#transaction,
    );
  }

  /**
   * Adds many runs with unique keys in the transaction, and says per run
   * what happened; as `TaskQueue.enqueueManyUnique`.
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A task or declaration registered on the queue.
   * @param argsList One argument list per run.
   * @param options Options for every run, over `task.with` options; a
   * `uniqueKey` here or there is required.
   * @returns One result per run, in the order of `argsList`.
   * @throws {TypeError} If no `uniqueKey` is given.
   * @throws {DuplicateKeyError} If a run's key is held and `onDuplicate` is
   * `"error"`; nothing is written.
   * @throws {UnknownTaskError} If `task` is not registered on the queue.
   * @throws {SerializationError} If any argument cannot be stored; nothing is written.
   */
  async enqueueManyUnique<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    argsList: readonly Args[],
    options?: EnqueueManyOptions<Args>,
  ): Promise<UniqueEnqueueResult<Result>[]> {
    checkArgsList(task, argsList);
    return await this.#inserts.unique<Result>(
      task,
      argsList,
      mergeRunOptions(task?.runOptions, options as RunOptions),
      "enqueueManyUnique",
      this.#transaction,
    );
  }
}

/**
 * Throws unless `value` looks like a transaction sitq can write through.
 *
 * @throws {TypeError} Saying what was given and what to pass instead.
 */
export function checkTransaction(
  value: unknown,
): asserts value is DatabaseTransaction {
  const candidate = value as Partial<DatabaseTransaction> | null | undefined;
  if (
    typeof candidate !== "object" || candidate === null ||
    typeof candidate.executeQuery !== "function"
  ) {
    throw new TypeError(
      `Cannot use queue.inTransaction as 'transaction' must be a Kysely transaction on the queue's database (the trx of db.transaction().execute(async (trx) => ...)): current value is ${
        value === null ? "null" : typeof value
      }`,
    );
  }
  if (candidate.isTransaction !== true) {
    throw new TypeError(
      "Cannot use queue.inTransaction as 'transaction' is not a transaction: it is a Kysely instance outside one, whose statements would commit on their own; pass the trx of db.transaction().execute(async (trx) => ...) instead",
    );
  }
}
