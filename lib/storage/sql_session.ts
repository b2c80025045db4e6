/**
 * The open database behind a SQL backend, and the three ways a call uses
 * it: a read (`read`), a write program (`write`: the statements of
 * `queries/`, run on the dialect's synchronous path where it has one), and
 * a write on a Kysely transaction (`writeWith`: the user's own
 * `transaction(fn)`, and the writes that are not programs). Around each:
 * opening on first use, a turn of the event loop when sitq's calls have
 * held it too long, the scope check of `transaction_scope.ts`, the error
 * map, and after each commit, the changes told to subscribers (step 1 of
 * the wake-up path described in `change_feed.ts`).
 *
 * @module
 */
import type { Kysely, Transaction } from "kysely";
import { DatabaseError } from "../core/errors.ts";
import type { Unsubscribe } from "../core/events.ts";
import type { BackendChange } from "./backend.ts";
import { ChangeFeed } from "./change_feed.ts";
import { type SqlDialect, withRowParsing } from "./dialect.ts";
import { macrotaskTurn } from "./macrotask_turn.ts";
import type { SitqSchema } from "./schema.ts";
import { assertOutsideTransaction } from "./transaction_scope.ts";
import { runProgram, type WriteProgram } from "./write_program.ts";

/** How a write commits, and what it tells subscribers afterwards. */
export interface WriteOptions<T> {
  /**
   * Whether the commit must survive power loss. `false` is for writes whose
   * loss in a power cut is harmless because delivery is at-least-once
   * anyway (a claim, a lease renewal, progress): the dialect may skip the
   * sync that makes a commit survive power loss. The next durable commit
   * covers them too.
   *
   * @default {true}
   */
  durable?: boolean;
  /**
   * What the write changed, from its result: the dialect's `beforeCommit`
   * announces it inside the transaction (to other processes), and
   * subscribers hear of it once it has committed. Default: nothing.
   */
  changes?: (result: T) => readonly BackendChange[];
}

/** The open database of one SQL backend; see the module doc. */
export class SqlSession {
  /** A label for logs and error messages. */
  readonly description: string;
  readonly #dialect: SqlDialect;
  readonly #feed: ChangeFeed;
  #db: Kysely<SitqSchema> | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;
  // How many transaction() calls are open, so the scope check costs the
  // hot path nothing while there are none.
  #userTransactions = 0;

  /**
   * @param dialect What the database supplies.
   * @param changePollInterval Ms between checks for other processes'
   *   commits while anyone subscribes; 0 disables them. Default: 100, or
   *   1000 while the dialect's write watch is live.
   */
  constructor(dialect: SqlDialect, changePollInterval?: number) {
    this.#dialect = dialect;
    this.description = dialect.description;
    this.#feed = new ChangeFeed({
      description: dialect.description,
      probe: () =>
        this.read(async (db) => await dialect.hasExternalChanges(db)),
      pollInterval: changePollInterval ?? 100,
      watchedPollInterval: changePollInterval ?? 1000,
      watch: dialect.watchWrites,
      unwatchableReason: dialect.unwatchableReason,
      onError: () => {
        // A failed probe is retried at the next interval; workers also poll.
      },
    });
  }

  /** The database while open: for calls inside this session's own transaction. */
  get openDb(): Kysely<SitqSchema> | undefined {
    return this.#db;
  }

  /**
   * Opens the database and migrates it, once; a failed open is tried again
   * by the next call.
   *
   * @throws {DatabaseError} If the database cannot be opened or migrated,
   * or the session is closed.
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

  /**
   * The open database, for a call about to run: checks the scope, yields
   * the event loop a turn when sitq's calls have held it too long, opens.
   * At once, without a promise, when the database is open and no turn is
   * due, as it is for nearly every call.
   *
   * @throws {InvalidStateError} Inside this backend's own `transaction()`.
   */
  #ready(): Kysely<SitqSchema> | Promise<Kysely<SitqSchema>> {
    if (this.#userTransactions > 0) {
      assertOutsideTransaction(this, this.description);
    }
    // Synchronous drivers settle every call in microtasks; see macrotask_turn.
    const turn = macrotaskTurn();
    const db = this.#db;
    if (turn === undefined && db !== undefined && !this.#closed) return db;
    return this.#readyLater(turn);
  }

  async #readyLater(
    turn: Promise<void> | undefined,
  ): Promise<Kysely<SitqSchema>> {
    if (turn !== undefined) await turn;
    if (this.#db === undefined) await this.open();
    const db = this.#db;
    if (db === undefined || this.#closed) throw this.#closedError();
    return db;
  }

  /** The error a call that failed after `started` throws. */
  #failure(error: unknown, started: number): unknown {
    // Whatever the driver says about a handle closed under this call, the
    // caller's problem is that the backend was closed.
    if (this.#closed) return this.#closedError();
    return this.#dialect.mapError(error, {
      elapsedMs: performance.now() - started,
    });
  }

  /** Runs `fn` on the open database (reads). */
  async read<T>(fn: (db: Kysely<SitqSchema>) => Promise<T>): Promise<T> {
    const ready = this.#ready();
    const db = ready instanceof Promise ? await ready : ready;
    const started = performance.now();
    try {
      return await fn(db);
    } catch (error) {
      throw this.#failure(error, started);
    }
  }

  /**
   * Runs a write program in one write transaction: on the dialect's
   * synchronous path where it has one (`writeNow`), else on a Kysely
   * transaction as {@linkcode SqlSession.writeWith} runs it.
   *
   * @param program Builds the program, given the open database to compile
   *   its statements for.
   */
  async write<T>(
    program: (db: Kysely<SitqSchema>) => WriteProgram<T>,
    options: WriteOptions<T> = {},
  ): Promise<T> {
    const writeNow = this.#dialect.writeNow;
    if (writeNow === undefined) {
      return await this.writeWith(
        (trx, db) => runProgram(program(db), trx),
        options,
      );
    }
    this.#feed.ownWrite();
    const ready = this.#ready();
    const db = ready instanceof Promise ? await ready : ready;
    const started = performance.now();
    let result: T;
    try {
      const done = writeNow.call(this.#dialect, () => program(db), {
        durable: options.durable ?? true,
      });
      result = done instanceof Promise ? await done : done;
    } catch (error) {
      throw this.#failure(error, started);
    }
    const made = options.changes?.(result);
    if (made !== undefined) {
      for (const change of made) {
        this.#feed.emit(change);
      }
    }
    return result;
  }

  /**
   * Runs `fn` in a write transaction on Kysely, holding the dialect's
   * write lock: `durable: false` runs it on the dialect's relaxed commit,
   * and the dialect's `beforeCommit` sees the write's changes.
   */
  async writeWith<T>(
    fn: (trx: Transaction<SitqSchema>, db: Kysely<SitqSchema>) => Promise<T>,
    { durable = true, changes }: WriteOptions<T> = {},
  ): Promise<T> {
    const dialect = this.#dialect;
    this.#feed.ownWrite();
    let made: readonly BackendChange[] = [];
    const ready = this.#ready();
    const db = ready instanceof Promise ? await ready : ready;
    const started = performance.now();
    let result: T;
    try {
      result = await dialect.withWriteLock(() => {
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
      });
    } catch (error) {
      throw this.#failure(error, started);
    }
    for (const change of made) this.#feed.emit(change);
    return result;
  }

  /**
   * Runs `fn` counted as an open `transaction()` call: while any is open,
   * every call checks that it is not made from inside one (see
   * `transaction_scope.ts`).
   */
  async inUserTransaction<T>(fn: () => Promise<T>): Promise<T> {
    this.#userTransactions++;
    try {
      return await fn();
    } finally {
      this.#userTransactions--;
    }
  }

  /** Tells this process's subscribers about `change`. */
  emit(change: BackendChange): void {
    this.#feed.emit(change);
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
