/**
 * The SQL backend's inserts, kept out of `sql_backend.ts`, which delegates
 * to one {@linkcode TaskWrites}: tasks and workflow graphs in one
 * transaction of their own, or in the caller's (`user_transactions.ts`),
 * each announcing the earliest run time it enqueued.
 *
 * @module
 */
import type {
  BackendChange,
  GraphInsertOptions,
  InsertOptions,
  InsertOutcome,
  NewGraphTask,
  NewTaskRow,
} from "./backend.ts";
import type { SqlParts } from "./sql_statements.ts";
import type { UserTransactions } from "./user_transactions.ts";

/** The SQL backend's inserts; see the module doc. */
export class TaskWrites {
  readonly #parts: SqlParts;
  readonly #transactions: UserTransactions;

  /**
   * @param parts The session and statements it runs.
   * @param transactions The user's transactions, for `options.transaction`.
   */
  constructor(parts: SqlParts, transactions: UserTransactions) {
    this.#parts = parts;
    this.#transactions = transactions;
  }

  /** See `Backend.insertTasks`. */
  async insertTasks(
    tasks: readonly NewTaskRow[],
    options: InsertOptions,
  ): Promise<number[] | InsertOutcome[]> {
    if (tasks.length === 0) return [];
    const { session, statements } = this.#parts;
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
      ? await session.write(
        (db) => statements.insertFor(db).outcomes(tasks),
        { changes },
      )
      : await session.write(
        (db) => statements.insertFor(db).ids(tasks),
        { changes },
      );
  }

  /** See `Backend.insertGraph`. */
  async insertGraph(
    tasks: readonly NewGraphTask[],
    options: GraphInsertOptions,
  ): Promise<number[]> {
    if (tasks.length === 0) return [];
    if (options.transaction !== undefined) {
      return await this.#transactions.graphIn(options.transaction, tasks);
    }
    const { session, statements } = this.#parts;
    const inserted = await session.write(
      (db) => statements.graphFor(db).run(tasks),
      {
        changes: ({ queuedRunAt }) =>
          queuedRunAt === undefined
            ? []
            : [{ type: "enqueued", runAt: queuedRunAt }],
      },
    );
    return inserted.ids;
  }
}
