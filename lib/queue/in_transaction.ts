/**
 * Enqueueing inside the application's own transaction: the tasks commit or
 * roll back together with the application's rows (the "transactional
 * outbox" a relational queue makes free). `TaskQueue.inTransaction(trx)`
 * returns the {@linkcode TransactionalQueue} defined here.
 *
 * @module
 */
import type { TaskDeclaration } from "../core/declaration.ts";
import type { RunOptions } from "../core/task.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { TaskId } from "../core/types.ts";
import { checkArgsList } from "./enqueue.ts";

/** How a transactional queue inserts: the queue's own path, given a transaction. */
export type TransactionalInsert = (
  task: TaskDeclaration<never, unknown> | TaskDeclaration<unknown[], unknown>,
  argsList: readonly unknown[][],
  runOptions: RunOptions | undefined,
  transaction: DatabaseTransaction,
) => Promise<number[]>;

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
  readonly #insert: TransactionalInsert;

  /** @ignore Made by `TaskQueue.inTransaction`. */
  constructor(transaction: DatabaseTransaction, insert: TransactionalInsert) {
    this.#transaction = transaction;
    this.#insert = insert;
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
   * @throws What the transaction's driver throws for the insert (e.g. when
   * the transaction has already ended or belongs to another database).
   */
  async enqueue<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    ...args: Args
  ): Promise<TaskId<Result>> {
    const [id] = await this.#insert(
      task,
      [args],
      task?.runOptions,
      this.#transaction,
    );
    return id as TaskId<Result>;
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
   */
  async enqueueMany<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    argsList: readonly Args[],
    options?: RunOptions,
  ): Promise<TaskId<Result>[]> {
    checkArgsList(task, argsList);
    const ids = await this.#insert(task, argsList, options, this.#transaction);
    return ids as TaskId<Result>[];
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
