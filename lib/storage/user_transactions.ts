/**
 * The user's transactions: `backend.transaction(fn)`, a write transaction
 * on the backend's own connection for the user's rows and tasks together,
 * and inserts in a transaction the caller holds (`queue.inTransaction(trx)`),
 * whether that is one of `transaction(fn)` or one on the caller's own
 * connection.
 *
 * Tasks inserted in a caller's transaction are committed by the caller, so
 * this process's subscribers hear of them: through `transaction(fn)`, once
 * it has committed; otherwise, as another process's commit, through the
 * change probe.
 *
 * @module
 */
import type { Kysely, Transaction } from "kysely";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { InsertOutcome, NewGraphTask, NewTaskRow } from "./backend.ts";
import type { SqlDialect } from "./dialect.ts";
import type { QueryRunner } from "./prepared_query.ts";
import type { InsertGraph } from "./queries/insert_graph.ts";
import type { InsertRows } from "./queries/insert_rows.ts";
import type { SitqSchema } from "./schema.ts";
import type { SqlSession } from "./sql_session.ts";
import { runInTransactionScope } from "./transaction_scope.ts";
import { runProgram } from "./write_program.ts";

/** The earliest run time inserted through one open `transaction(fn)`. */
interface PendingInserts {
  runAt: number;
}

/** A backend's `transaction(fn)` and its inserts in callers' transactions. */
export class UserTransactions {
  readonly #session: SqlSession;
  readonly #dialect: SqlDialect;
  readonly #insert: (db: Kysely<SitqSchema>) => InsertRows;
  readonly #graph: (db: Kysely<SitqSchema>) => InsertGraph;
  // The earliest run time inserted through each open transaction() call,
  // emitted once it commits.
  readonly #pending = new WeakMap<object, PendingInserts>();

  /**
   * @param session The backend's open database.
   * @param dialect Its dialect, for `beforeCommit`.
   * @param insert The backend's compiled insert, for a database.
   * @param graph The backend's compiled graph insert, for a database.
   */
  constructor(
    session: SqlSession,
    dialect: SqlDialect,
    insert: (db: Kysely<SitqSchema>) => InsertRows,
    graph: (db: Kysely<SitqSchema>) => InsertGraph,
  ) {
    this.#session = session;
    this.#dialect = dialect;
    this.#insert = insert;
    this.#graph = graph;
  }

  /**
   * Runs `fn` in a write transaction on the backend's connection; see
   * `SqlBackend.transaction`, which documents it for users.
   */
  async run<T, DB>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    const session = this.#session;
    const pending: PendingInserts = { runAt: Infinity };
    const result = await session.inUserTransaction(() =>
      session.writeWith((trx) => {
        this.#pending.set(trx, pending);
        return runInTransactionScope(
          session,
          () => fn(trx as unknown as Transaction<DB>),
        );
      })
    );
    if (pending.runAt !== Infinity) {
      session.emit({ type: "enqueued", runAt: pending.runAt });
    }
    return result;
  }

  /**
   * Inserts in the caller's transaction. The statements are compiled here
   * (for this database, its schema included) and run on the caller's
   * connection; the commit is the caller's, so nothing is emitted to this
   * process's subscribers now: other connections' commits reach them
   * through the change probe, as another process's would.
   */
  async insertIn(
    transaction: DatabaseTransaction,
    tasks: readonly NewTaskRow[],
    outcomes: boolean,
  ): Promise<number[] | InsertOutcome[]> {
    const pending = this.#pending.get(transaction);
    // Inside this backend's own transaction() the database is open and
    // the session's calls must not be entered (see transaction_scope.ts).
    const db = pending === undefined
      ? await this.#session.read((db) => Promise.resolve(db))
      : this.#session.openDb!;
    const runner = transaction as unknown as QueryRunner;
    // The caller's driver reports its own errors: the statement ran on its
    // connection, in its transaction, not on this backend's.
    const insert = this.#insert(db);
    // The caller's transaction: a refused batch must leave it usable.
    const place = { callers: true };
    const inserted = outcomes
      ? await runProgram(insert.outcomes(tasks, place), runner)
      : await runProgram(insert.ids(tasks, place), runner);
    let runAt = Infinity;
    for (const task of tasks) runAt = Math.min(runAt, task.runAt);
    await this.#announce(transaction, runner, runAt);
    return inserted;
  }

  /**
   * Inserts a graph of tasks in the caller's transaction (see
   * {@linkcode UserTransactions.insertIn} for how); returns the ids.
   */
  async graphIn(
    transaction: DatabaseTransaction,
    tasks: readonly NewGraphTask[],
  ): Promise<number[]> {
    const pending = this.#pending.get(transaction);
    const db = pending === undefined
      ? await this.#session.read((db) => Promise.resolve(db))
      : this.#session.openDb!;
    const runner = transaction as unknown as QueryRunner;
    const { ids, queuedRunAt } = await runProgram(
      this.#graph(db).run(tasks),
      runner,
    );
    if (queuedRunAt !== undefined) {
      await this.#announce(transaction, runner, queuedRunAt);
    }
    return ids;
  }

  /**
   * Announces tasks due at `runAt` inserted in the caller's transaction:
   * in it (PostgreSQL: NOTIFY), so that it reaches other processes when
   * the caller commits and not if it rolls back, and to this process's
   * subscribers once a `transaction(fn)` of this backend commits.
   */
  async #announce(
    transaction: DatabaseTransaction,
    runner: QueryRunner,
    runAt: number,
  ): Promise<void> {
    const pending = this.#pending.get(transaction);
    if (pending !== undefined) pending.runAt = Math.min(pending.runAt, runAt);
    await this.#dialect.beforeCommit?.(runner, {
      durable: true,
      changes: [{ type: "enqueued", runAt }],
      committedHere: pending !== undefined,
    });
  }
}
