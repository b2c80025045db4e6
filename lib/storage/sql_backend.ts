/**
 * The SQL implementation of {@linkcode Backend}, written once with Kysely.
 * Dialects supply only what truly differs: how to connect, how to serialize
 * writers, and how to notice other connections' commits.
 *
 * @module
 */
import { type Kysely, sql, type Transaction } from "kysely";
import { DatabaseError } from "../core/errors.ts";
import type { Unsubscribe } from "../core/events.ts";
import type { TaskStatus } from "../core/types.ts";
import type {
  AttemptRow,
  Backend,
  BackendChange,
  ClaimedTask,
  ClaimRequest,
  DueExceptQuery,
  FencingToken,
  ListQuery,
  NameCount,
  NameStatusCount,
  NewTaskRow,
  Settlement,
  TaskRow,
  TransitionResult,
} from "./backend.ts";
import { ChangeFeed, type WriteWatcher } from "./change_feed.ts";
import { macrotaskTurn } from "./macrotask_turn.ts";
import { migrate } from "./migrations.ts";
import { PreparedQuery, PreparedRows } from "./prepared_query.ts";
import type { SitqSchema } from "./schema.ts";

type Db = Kysely<SitqSchema> | Transaction<SitqSchema>;

const QUEUED = sql.lit<TaskStatus>("queued");
const RUNNING = sql.lit<TaskStatus>("running");
const FINAL_STATUSES: readonly TaskStatus[] = [
  "completed",
  "failed",
  "cancelled",
];

// Rows per multi-row INSERT: 7 columns each stays far below SQLite's 32,766
// bound parameters, and each distinct size is one cached statement.
const INSERT_CHUNK = 500;

/** Options every SQL backend takes. */
export interface SqlBackendOptions {
  /**
   * How often, in milliseconds, a backend with waiting workers or waiters
   * checks whether another process committed (a cheap query that reads no
   * table). Where the backend can also watch the database for writes (an
   * SQLite file on a local disk), another process's commit is noticed at
   * once and this check is only the safety net, so it then defaults to 1000;
   * otherwise it defaults to 100. 0 disables both: other processes' tasks
   * are then found only by each worker's `pollInterval`.
   *
   * @default {100, or 1000 while watching for writes}
   */
  changePollInterval?: number;
}

/**
 * What a dialect supplies to {@linkcode SqlBackend}: only what truly differs
 * between databases. Kept out of the public class surface on purpose, so
 * Kysely's types never become part of sitq's public API.
 */
export interface SqlDialectHooks {
  /** A label for logs and error messages. */
  readonly description: string;
  /** Creates the Kysely instance; called once, by `open`. */
  createKysely(): Kysely<SitqSchema>;
  /**
   * Runs `fn` holding whatever lock keeps writers of this database in this
   * process from waiting on each other's locks while the event loop is
   * blocked (see SQLiteBackend).
   */
  withWriteLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether another connection committed since the last call. */
  hasExternalChanges(db: Kysely<SitqSchema>): Promise<boolean>;
  /**
   * Watches the database for writes by anyone, once it is open: a hint to
   * call `hasExternalChanges` now rather than at the next poll.
   */
  watchWrites?: WriteWatcher;
  /**
   * Turns a driver error into a `DatabaseError` where it is one.
   *
   * @param context How long the failed call had run (opening included for
   * an open), so a message can say what happened, not what might have.
   */
  mapError(error: unknown, context: { elapsedMs: number }): unknown;
  /**
   * Runs `open` (connect, set the connection up, migrate) again while it
   * fails in a way a new try can cure, e.g. a lock that SQLite reported
   * without waiting for it; each try gets a new connection. Absent: `open`
   * runs once.
   */
  retryOpen?<T>(open: () => Promise<T>): Promise<T>;
  /** Called after migrations, before first use. */
  afterMigrate?(): void;
  /**
   * Runs `fn` on one connection whose commits need not survive power loss
   * (e.g. SQLite `synchronous = NORMAL`), restoring the setting after.
   * Absent: every commit is as durable as the backend is configured.
   */
  relaxedCommit?<T>(
    db: Kysely<SitqSchema>,
    fn: (connection: Kysely<SitqSchema>) => Promise<T>,
  ): Promise<T>;
}

/**
 * The dialect-independent SQL backend; `SQLiteBackend` is its SQLite face.
 * Use a subclass, not this class, directly.
 */
export class SqlBackend implements Backend, AsyncDisposable {
  /** A label for logs and error messages. */
  readonly description: string;

  #db: Kysely<SitqSchema> | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;
  readonly #feed: ChangeFeed;
  readonly #hooks: SqlDialectHooks;
  #settleQueries: SettleQueries | undefined;
  readonly #claimQueries: ClaimQueries = new Map();
  #insertTasks: PreparedRows<NewTaskRow, { id: number }> | undefined;

  /**
   * Creates a backend from a dialect's hooks; subclasses call this. The hooks
   * speak Kysely and are internal to sitq, hence hidden from the docs.
   *
   * @ignore
   * @param hooks What the dialect supplies.
   * @param options Options shared by SQL backends.
   */
  constructor(hooks: SqlDialectHooks, options: SqlBackendOptions = {}) {
    this.#hooks = hooks;
    this.description = hooks.description;
    this.#feed = new ChangeFeed({
      probe: () => this.#run(async (db) => await hooks.hasExternalChanges(db)),
      pollInterval: options.changePollInterval ?? 100,
      watchedPollInterval: options.changePollInterval ?? 1000,
      watch: hooks.watchWrites,
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
    const hooks = this.#hooks;
    const started = performance.now();
    const openAndMigrate = async () => {
      const db = hooks.createKysely();
      try {
        await hooks.withWriteLock(() => transact(db, (trx) => migrate(trx)));
      } catch (error) {
        await db.destroy().catch(() => {});
        throw error;
      }
      return db;
    };
    let db: Kysely<SitqSchema>;
    try {
      db = hooks.retryOpen === undefined
        ? await openAndMigrate()
        : await hooks.retryOpen(openAndMigrate);
    } catch (error) {
      throw hooks.mapError(error, { elapsedMs: performance.now() - started });
    }
    hooks.afterMigrate?.();
    this.#db = db;
  }

  #closedError(): DatabaseError {
    return new DatabaseError(
      "CLOSED",
      `Cannot use ${this.description}: it was closed; create a new backend`,
    );
  }

  async #run<T>(fn: (db: Kysely<SitqSchema>) => Promise<T>): Promise<T> {
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
      throw this.#hooks.mapError(error, {
        elapsedMs: performance.now() - started,
      });
    }
  }

  /**
   * Runs `fn` in a write transaction. `durable: false` is for writes whose
   * loss in a power cut is harmless because delivery is at-least-once anyway
   * (a claim, a lease renewal, progress): the dialect may skip the sync
   * that makes a commit survive power loss. The next durable commit covers
   * them too.
   */
  #write<T>(
    fn: (trx: Transaction<SitqSchema>, db: Kysely<SitqSchema>) => Promise<T>,
    { durable = true }: { durable?: boolean } = {},
  ): Promise<T> {
    const hooks = this.#hooks;
    return this.#run((db) =>
      hooks.withWriteLock(() => {
        const write = (connection: Kysely<SitqSchema>) =>
          transact(connection, (trx) => fn(trx, db));
        return durable || hooks.relaxedCommit === undefined
          ? write(db)
          : hooks.relaxedCommit(db, write);
      })
    );
  }

  /** Inserts tasks in one transaction and returns their ids. */
  async insertTasks(tasks: readonly NewTaskRow[]): Promise<number[]> {
    if (tasks.length === 0) return [];
    const ids = await this.#write(async (trx, db) => {
      const insert = this.#insertTasks ??= insertTasksQuery(db);
      const ids: number[] = [];
      for (const chunk of chunks(tasks, INSERT_CHUNK)) {
        const { rows } = await insert.execute(trx, chunk);
        for (const row of rows) ids.push(Number(row.id));
      }
      // RETURNING order is unspecified; ids are increasing in insert order.
      return ids.sort((a, b) => a - b);
    });
    let runAt = Infinity;
    for (const task of tasks) runAt = Math.min(runAt, task.runAt);
    this.#feed.emit({ type: "enqueued", runAt });
    return ids;
  }

  /** Settles finished attempts and claims new tasks in one transaction. */
  async settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<{ applied: boolean[]; claimed: ClaimedTask[] }> {
    const result = await this.#write(async (trx, db) => {
      const queries = this.#settleQueries ??= settleQueries(db);
      const applied: boolean[] = [];
      const history: HistoryParams[] = [];
      for (const settlement of settlements) {
        const owned = await settle(queries, trx, settlement);
        applied.push(owned);
        if (owned) history.push(historyRow(settlement));
      }
      // One statement for the batch's history rather than one per task.
      for (const chunk of chunks(history, INSERT_CHUNK)) {
        await queries.history.execute(trx, chunk);
      }
      const claimed = claim === undefined || claim.limit <= 0
        ? []
        : await claimTasks(db, this.#claimQueries, trx, claim);
      return { applied, claimed };
    }, { durable: settlements.length > 0 });
    if (settlements.length > 0) {
      this.#feed.emit({
        type: "settled",
        ids: settlements.map((settlement) => settlement.id),
      });
    }
    return result;
  }

  /** Extends leases still owned by `workerId`; returns the ids renewed. */
  async renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>> {
    if (tokens.length === 0) return new Set();
    return await this.#write(async (trx) => {
      const owned = new Set<number>();
      for (const token of tokens) {
        const result = await trx.updateTable("sitq_tasks")
          .set({ lease_expires_at: leaseExpiresAt })
          .where("id", "=", token.id)
          .where("status", "=", RUNNING)
          .where("worker_id", "=", token.workerId)
          .where("attempts", "=", token.attempt)
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n) owned.add(token.id);
      }
      return owned;
    }, { durable: false });
  }

  /** Requeues (or fails) tasks whose lease expired, recording lost attempts. */
  async recoverExpiredLeases(now: number, error: string): Promise<number[]> {
    const recovered = await this.#write(async (trx) => {
      const rows = await trx.updateTable("sitq_tasks")
        .set((eb) => ({
          status: eb.case().when("attempts", ">=", eb.ref("max_attempts"))
            .then(sql.lit<TaskStatus>("failed")).else(QUEUED).end(),
          finished_at: eb.case()
            .when("attempts", ">=", eb.ref("max_attempts")).then(now)
            .else(null).end(),
          lease_expires_at: null,
          error,
        }))
        .where("status", "=", RUNNING)
        .where("lease_expires_at", "<", now)
        .returning(["id", "attempts", "worker_id", "started_at"])
        .execute();
      for (const row of rows) {
        await trx.insertInto("sitq_attempts").values({
          task_id: row.id,
          attempt: row.attempts,
          worker_id: row.worker_id ?? "unknown",
          started_at: row.started_at ?? now,
          finished_at: now,
          outcome: "lost",
          error,
        }).execute();
      }
      return rows.map((row) => Number(row.id));
    });
    if (recovered.length > 0) {
      this.#feed.emit({ type: "settled", ids: recovered });
      this.#feed.emit({ type: "enqueued", runAt: now });
    }
    return recovered;
  }

  /** Stores progress for an attempt the worker still owns. */
  async saveProgress(
    token: FencingToken,
    progress: string,
  ): Promise<boolean> {
    return await this.#write(async (trx) => {
      const result = await trx.updateTable("sitq_tasks")
        .set({ progress })
        .where("id", "=", token.id)
        .where("status", "=", RUNNING)
        .where("worker_id", "=", token.workerId)
        .where("attempts", "=", token.attempt)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    }, { durable: false });
  }

  /** Reads one task. */
  getTask(id: number): Promise<TaskRow | undefined> {
    return this.#run((db) => selectTask(db, id));
  }

  /** Reads a task's attempt history. */
  getAttempts(id: number): Promise<AttemptRow[]> {
    return this.#run((db) =>
      db.selectFrom("sitq_attempts")
        .select(HISTORY_COLUMNS)
        .where("task_id", "=", id).orderBy("id").execute()
    );
  }

  /** Lists tasks, newest first. */
  listTasks(query: ListQuery): Promise<TaskRow[]> {
    // An empty status list matches no task (and `in ()` is not valid SQL).
    if (query.statuses?.length === 0) return Promise.resolve([]);
    return this.#run((db) => {
      let select = db.selectFrom("sitq_tasks").selectAll();
      if (query.statuses !== undefined) {
        select = select.where("status", "in", query.statuses);
      }
      if (query.name !== undefined) {
        select = select.where("name", "=", query.name);
      }
      if (query.beforeId !== undefined) {
        select = select.where("id", "<", query.beforeId);
      }
      return select.orderBy("id", "desc").limit(query.limit).execute();
    });
  }

  /** Counts tasks per status. */
  async countByStatus(): Promise<Partial<Record<TaskStatus, number>>> {
    const rows = await this.#run((db) =>
      db.selectFrom("sitq_tasks")
        .select(["status", (eb) => eb.fn.countAll<number>().as("count")])
        .groupBy("status").execute()
    );
    const counts: Partial<Record<TaskStatus, number>> = {};
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  /** Counts tasks per name and status. */
  async countByName(): Promise<NameStatusCount[]> {
    const rows = await this.#run((db) =>
      db.selectFrom("sitq_tasks")
        .select([
          "name",
          "status",
          (eb) => eb.fn.countAll<number>().as("count"),
        ])
        .groupBy(["name", "status"]).orderBy("name").execute()
    );
    return rows.map((row) => ({
      name: row.name,
      status: row.status,
      count: Number(row.count),
    }));
  }

  /** Counts due queued tasks of names outside `query.names`, reading at most `query.limit`. */
  async countDueExcept(query: DueExceptQuery): Promise<NameCount[]> {
    const rows = await this.#run((db) => {
      // The literal status lets SQLite scan the claim's partial index; the
      // limit bounds the scan when another worker's backlog matches.
      let due = db.selectFrom("sitq_tasks").select("name")
        .where("status", "=", QUEUED).where("run_at", "<=", query.now);
      if (query.names.length > 0) {
        due = due.where("name", "not in", query.names);
      }
      return db.selectFrom(due.limit(query.limit).as("due"))
        .select(["due.name", (eb) => eb.fn.countAll<number>().as("count")])
        .groupBy("due.name").orderBy("due.name").execute();
    });
    return rows.map((row) => ({ name: row.name, count: Number(row.count) }));
  }

  /** Cancels a queued task. */
  async cancel(id: number, now: number): Promise<TransitionResult> {
    const result = await this.#write(async (trx) => {
      const update = await trx.updateTable("sitq_tasks")
        .set({ status: "cancelled", finished_at: now })
        .where("id", "=", id).where("status", "=", QUEUED)
        .executeTakeFirst();
      return {
        changed: update.numUpdatedRows > 0n,
        row: await selectTask(trx, id),
      };
    });
    if (result.changed) this.#feed.emit({ type: "settled", ids: [id] });
    return result;
  }

  /** Puts a failed or cancelled task back in the queue. */
  async requeue(id: number, now: number): Promise<TransitionResult> {
    const result = await this.#write(async (trx) => {
      const update = await trx.updateTable("sitq_tasks")
        .set({
          status: "queued",
          attempts: 0,
          run_at: now,
          result: null,
          error: null,
          progress: null,
          lease_expires_at: null,
          started_at: null,
          finished_at: null,
        })
        .where("id", "=", id).where("status", "in", ["failed", "cancelled"])
        .executeTakeFirst();
      return {
        changed: update.numUpdatedRows > 0n,
        row: await selectTask(trx, id),
      };
    });
    if (result.changed) this.#feed.emit({ type: "enqueued", runAt: now });
    return result;
  }

  /** Deletes finished tasks and their history. */
  async prune(
    statuses: readonly TaskStatus[],
    before: number,
  ): Promise<number> {
    const final = statuses.filter((status) => FINAL_STATUSES.includes(status));
    if (final.length === 0) return 0;
    return await this.#write(async (trx) => {
      await trx.deleteFrom("sitq_attempts")
        .where("task_id", "in", (eb) =>
          eb.selectFrom("sitq_tasks").select("id")
            .where("status", "in", final).where("finished_at", "<", before))
        .execute();
      const result = await trx.deleteFrom("sitq_tasks")
        .where("status", "in", final).where("finished_at", "<", before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
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
      await this.#hooks.withWriteLock(() =>
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

function selectTask(db: Db, id: number): Promise<TaskRow | undefined> {
  return db.selectFrom("sitq_tasks").selectAll().where("id", "=", id)
    .executeTakeFirst();
}

interface ClaimParams extends Record<string, unknown> {
  workerId: string;
  leaseExpiresAt: number;
  now: number;
  limit: number;
}

interface ClaimedRow {
  id: number;
  name: string;
  args: string;
  attempts: number;
  max_attempts: number;
  timeout_ms: number | null;
  priority: number;
  run_at: number;
}

/** Compiled claims by task-name set (the length of an `in` list is part of the SQL). */
type ClaimQueries = Map<string, PreparedQuery<ClaimParams, ClaimedRow>>;

function claimQuery(
  db: Kysely<SitqSchema>,
  claimQueries: ClaimQueries,
  names: readonly string[],
): PreparedQuery<ClaimParams, ClaimedRow> {
  const key = JSON.stringify(names);
  let query = claimQueries.get(key);
  if (query === undefined) {
    query = new PreparedQuery<ClaimParams, ClaimedRow>((param) =>
      db.updateTable("sitq_tasks")
        .set((eb) => ({
          status: "running",
          attempts: eb("attempts", "+", 1),
          worker_id: param("workerId"),
          lease_expires_at: param("leaseExpiresAt"),
          started_at: param("now"),
          progress: null,
        }))
        .where("id", "in", (eb) =>
          eb.selectFrom("sitq_tasks").select("id")
            .where("status", "=", QUEUED)
            .where("run_at", "<=", param("now"))
            .where("name", "in", names)
            .orderBy("priority", "desc").orderBy("run_at").orderBy("id")
            .limit(param("limit")))
        .returning([
          "id",
          "name",
          "args",
          "attempts",
          "max_attempts",
          "timeout_ms",
          "priority",
          "run_at",
        ])
    );
    claimQueries.set(key, query);
  }
  return query;
}

async function claimTasks(
  db: Kysely<SitqSchema>,
  claimQueries: ClaimQueries,
  trx: Transaction<SitqSchema>,
  claim: ClaimRequest,
): Promise<ClaimedTask[]> {
  const { rows } = await claimQuery(db, claimQueries, claim.names).execute(
    trx,
    {
      workerId: claim.workerId,
      leaseExpiresAt: claim.now + claim.leaseDuration,
      now: claim.now,
      limit: claim.limit,
    },
  );
  // RETURNING order is unspecified; hand tasks out in queue order.
  rows.sort((a, b) =>
    b.priority - a.priority || a.run_at - b.run_at || a.id - b.id
  );
  return rows.map((row) => ({
    id: Number(row.id),
    name: row.name,
    args: row.args,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    timeout: row.timeout_ms,
    priority: row.priority,
    runAt: row.run_at,
  }));
}

interface SettleParams extends Record<string, unknown> {
  status: TaskStatus;
  result: string | null;
  error: string | null;
  finishedAt: number | null;
  runAt: number | null;
  attemptDelta: number;
  id: number;
  workerId: string;
  attempt: number;
}

type HistoryParams = Omit<AttemptRow, "error"> & { error: string | null };

/** The columns of an attempt's history row, as written and as read. */
const HISTORY_COLUMNS = [
  "task_id",
  "attempt",
  "worker_id",
  "started_at",
  "finished_at",
  "outcome",
  "error",
] as const satisfies readonly (keyof HistoryParams)[];

/** The statements that write attempts' ends; compiled once per Kysely. */
interface SettleQueries {
  update: PreparedQuery<SettleParams>;
  history: PreparedRows<HistoryParams>;
}

function settleQueries(db: Kysely<SitqSchema>): SettleQueries {
  return {
    // Every outcome is one statement, so failure and reschedule happen
    // together: there is no moment when a failed task is claimable before
    // its backoff has passed. The ownership check (still running, same
    // worker, same attempt) makes a late or stale finish change nothing.
    update: new PreparedQuery<SettleParams>((param) =>
      db.updateTable("sitq_tasks")
        .set((eb) => ({
          status: param("status"),
          result: param("result"),
          error: eb.fn.coalesce(eb.val(param("error")), eb.ref("error")),
          finished_at: param("finishedAt"),
          run_at: eb.fn.coalesce(eb.val(param("runAt")), eb.ref("run_at")),
          attempts: eb("attempts", "-", param("attemptDelta")),
          lease_expires_at: null,
        }))
        .where("id", "=", param("id"))
        .where("status", "=", RUNNING)
        .where("worker_id", "=", param("workerId"))
        .where("attempts", "=", param("attempt"))
    ),
    history: new PreparedRows<HistoryParams>(
      HISTORY_COLUMNS,
      (rows) => db.insertInto("sitq_attempts").values(rows),
    ),
  };
}

const TASK_COLUMNS = [
  "name",
  "args",
  "priority",
  "runAt",
  "maxAttempts",
  "timeout",
  "createdAt",
] as const satisfies readonly (keyof NewTaskRow)[];

function insertTasksQuery(
  db: Kysely<SitqSchema>,
): PreparedRows<NewTaskRow, { id: number }> {
  return new PreparedRows<NewTaskRow, { id: number }>(
    TASK_COLUMNS,
    (rows) =>
      db.insertInto("sitq_tasks").values(rows.map((row) => ({
        name: row.name,
        args: row.args,
        status: "queued" as const,
        priority: row.priority,
        run_at: row.runAt,
        max_attempts: row.maxAttempts,
        timeout_ms: row.timeout,
        created_at: row.createdAt,
      }))).returning("id"),
  );
}

/** `items` in slices of at most `size`. */
function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) {
    yield items.slice(start, start + size);
  }
}

function settleParams(settlement: Settlement): SettleParams {
  const owner = {
    id: settlement.id,
    workerId: settlement.workerId,
    attempt: settlement.attempt,
  };
  switch (settlement.outcome) {
    case "completed":
      return {
        ...owner,
        status: "completed",
        result: settlement.result,
        error: null,
        finishedAt: settlement.finishedAt,
        runAt: null,
        attemptDelta: 0,
      };
    case "failed":
    case "timed_out": {
      const retry = settlement.retryAt !== null;
      return {
        ...owner,
        status: retry ? "queued" : "failed",
        result: null,
        error: settlement.error,
        finishedAt: retry ? null : settlement.finishedAt,
        runAt: settlement.retryAt,
        attemptDelta: 0,
      };
    }
    case "interrupted":
      // The worker stopped, not the task: give the attempt back.
      return {
        ...owner,
        status: "queued",
        result: null,
        error: null,
        finishedAt: null,
        runAt: null,
        attemptDelta: 1,
      };
  }
}

async function settle(
  queries: SettleQueries,
  trx: Transaction<SitqSchema>,
  settlement: Settlement,
): Promise<boolean> {
  const result = await queries.update.execute(trx, settleParams(settlement));
  return Boolean(result.numAffectedRows);
}

function historyRow(settlement: Settlement): HistoryParams {
  return {
    task_id: settlement.id,
    attempt: settlement.attempt,
    worker_id: settlement.workerId,
    started_at: settlement.startedAt,
    finished_at: settlement.finishedAt,
    outcome: settlement.outcome,
    error: settlement.outcome === "completed" ? null : settlement.error,
  };
}
