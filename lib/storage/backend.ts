/**
 * The one interface the queue and the worker call to store and claim tasks,
 * and the storage-shaped rows it speaks: serialized text, times in epoch
 * milliseconds, columns named as the tables name them. The queue turns them
 * into the public types.
 *
 * Published as the subpath entry `sitq/backend` (the root `backend.ts`),
 * whose module doc states the contract an implementation must meet and how
 * stable these types are. The SQL implementation is `sql_backend.ts`;
 * `SQLiteBackend` is the default.
 *
 * @module
 */
import type { Unsubscribe } from "../core/events.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { AttemptOutcome, TaskStatus } from "../core/types.ts";
import type { TaskEventType } from "../core/task_events.ts";
import type { OnDuplicate } from "../core/unique_keys.ts";
import type {
  ScheduleFired,
  ScheduleFiring,
  ScheduleRow,
  ScheduleSaved,
  ScheduleWrite,
} from "./schedule_rows.ts";

export type { OnDuplicate };
export type {
  ScheduleFired,
  ScheduleFiring,
  ScheduleRow,
  ScheduleSaved,
  ScheduleWrite,
} from "./schedule_rows.ts";

/** How {@linkcode Backend.insertTasks} writes, and what it returns. */
export interface InsertOptions {
  /** The caller's open transaction on the backend's database. */
  transaction?: DatabaseTransaction;
  /**
   * Return an {@linkcode InsertOutcome} per row (whether it created a task,
   * which task holds its key) instead of an id per row.
   *
   * @default {false}
   */
  outcomes?: boolean;
}

/**
 * What became of one row of {@linkcode Backend.insertTasks} (with
 * `outcomes: true`). A row without a unique key always creates its task.
 */
export interface InsertOutcome {
  /**
   * The task that holds the row's key now: the new task when `created`,
   * else the task that held it (for a row whose `onDuplicate` is
   * `"replace"`, the one it rewrote, if `replaced`).
   */
  id: number;
  /** Whether this row created a task. */
  created: boolean;
  /**
   * Whether this row rewrote an existing waiting or queued holder
   * (`onDuplicate: "replace"`).
   */
  replaced: boolean;
  /**
   * The holder's status after the insert: `queued` for a created or
   * replaced task; for one kept, the status it had (`queued`, `running`,
   * or `completed` within its `unique_for` window).
   */
  status: TaskStatus;
}

/** A task to insert. */
export interface NewTaskRow {
  /** The task name. */
  name: string;
  /** The serialized argument list. */
  args: string;
  /** Higher is claimed first. */
  priority: number;
  /** Epoch ms; not claimable before. */
  runAt: number;
  /** Total attempts allowed. */
  maxAttempts: number;
  /** Per-attempt limit in ms, or null for none. */
  timeout: number | null;
  /**
   * The queue the task belongs to (schema v8); absent: `"default"`.
   */
  queue?: string;
  /**
   * Epoch ms of the enqueue; also the "now" against which an existing
   * holder's `uniqueFor` window is measured.
   */
  createdAt: number;
  /**
   * The run's unique key (absent or null: none). Unique per task `name`
   * among the tasks that hold theirs: waiting, queued or running, or
   * completed within their `uniqueFor` window.
   */
  uniqueKey?: string | null;
  /**
   * Milliseconds after the task completes during which it still holds its
   * key (absent or null: none). Only read with a `uniqueKey`.
   */
  uniqueFor?: number | null;
  /**
   * What the row does when its key is held; see {@linkcode OnDuplicate}.
   * Rows of one batch are applied in order, as if inserted one after
   * another: a later row with the key of an earlier one meets that one as
   * its holder (with `"error"`, the whole batch is refused).
   *
   * @default {"keep"}
   */
  onDuplicate?: OnDuplicate;
}

/**
 * A dependency of one task of a graph ({@linkcode NewGraphTask.parents}):
 * another task of the same batch, by its index there (`index`), or a task
 * already stored (`id`).
 */
export type GraphParent =
  & (
    | { index: number; id?: never }
    | { id: number; index?: never }
  )
  & {
    /**
     * What the child does when this parent fails for good or is cancelled:
     * `false` (the default rule), it is cancelled with them, transitively;
     * `true`, the dependency counts as met and the child runs anyway.
     */
    runAnyway: boolean;
  };

/**
 * A task of a graph for {@linkcode Backend.insertGraph}: a row without a
 * unique key, and the tasks it depends on.
 */
export interface NewGraphTask
  extends Omit<NewTaskRow, "uniqueKey" | "uniqueFor" | "onDuplicate"> {
  /** The tasks it waits for, in order (none: it is queued at once). */
  parents: readonly GraphParent[];
}

/** What {@linkcode Backend.insertGraph} takes besides the tasks. */
export interface GraphInsertOptions {
  /** The caller's open transaction on the backend's database. */
  transaction?: DatabaseTransaction;
}

/** One parent of a task as {@linkcode Backend.getParents} reads it. */
export interface ParentRow {
  /** The parent's id. */
  id: number;
  /** Its task name. */
  name: string;
  /** Its status now. */
  status: TaskStatus;
  /** Its serialized result once completed; `null` for `undefined`. */
  result: string | null;
  /** The JSON StoredError of its latest failure. */
  error: string | null;
  /** Attempts it made. */
  attempts: number;
  /** Whether the child runs even if this parent fails or is cancelled. */
  run_anyway: boolean;
}

/** What a worker asks for when it claims. */
export interface ClaimRequest {
  /** The claiming worker; stored as the lease owner. */
  workerId: string;
  /** Only tasks with these names are claimed. */
  names: readonly string[];
  /**
   * Only tasks of these queues are claimed (schema v8); absent: every
   * queue. Paused queues are never claimed from, and limited ones only
   * within their limits.
   */
  queues?: readonly string[];
  /** At most this many tasks. */
  limit: number;
  /** Only tasks whose run time is at or before this. */
  now: number;
  /** Milliseconds until the lease expires unless renewed. */
  leaseDuration: number;
}

/**
 * The fencing token of one attempt: which task, which worker, which attempt.
 *
 * A claim hands out a token; every later write about that attempt (a lease
 * renewal, progress, its settlement) carries it and counts only while the
 * task is still `running` under the same worker and the same attempt number
 * (the row's `attempts` column). A worker whose lease lapsed and whose task
 * another worker re-claimed holds a stale token, so its late writes change
 * nothing. Backends check this one rule, in one place, for every such write.
 */
export interface FencingToken {
  /** The task id. */
  id: number;
  /** The worker that claimed the attempt. */
  workerId: string;
  /** The attempt number the claim started (1 for the first run). */
  attempt: number;
}

/** A task a worker has just claimed. */
export interface ClaimedTask {
  /** The task id. */
  id: number;
  /** The task name. */
  name: string;
  /** The serialized argument list. */
  args: string;
  /** This attempt's number, from 1: its fencing token's `attempt`. */
  attempt: number;
  /** Total attempts allowed. */
  maxAttempts: number;
  /** Per-attempt limit in ms, or null for none. */
  timeout: number | null;
  /** Higher is claimed first. */
  priority: number;
  /** Epoch ms; not claimable before. */
  runAt: number;
  /** The queue it was claimed from (schema v8). */
  queue: string;
}

/** The end of one attempt, written only while its fencing token holds. */
export type Settlement =
  & FencingToken
  & {
    startedAt: number;
    finishedAt: number;
  }
  & (
    | {
      outcome: "completed";
      /**
       * The serialized result, or `null` when the handler returned
       * `undefined` (stored as SQL NULL: see `decodeResult`).
       */
      result: string | null;
    }
    | {
      /** How the attempt ended. */
      outcome: "failed" | "timed_out";
      /** The serialized `StoredError`. */
      error: string;
      /** When to try again, or `null` when this was the last attempt. */
      retryAt: number | null;
    }
    | {
      /** The worker stopped: the task goes back to the queue at once and the attempt does not count. */
      outcome: "interrupted";
      /** The JSON StoredError of the latest failure. */
      error: string;
    }
  );

/** What {@linkcode Backend.settleAndClaim} returns. */
export interface SettleAndClaimResult {
  /** `applied[i]`: whether `settlements[i]` was written (its token held). */
  applied: boolean[];
  /** The claimed tasks, in queue order (empty without a claim). */
  claimed: ClaimedTask[];
  /**
   * Optional. When the claim returned fewer tasks than its `limit`: the
   * earliest `runAt` after the claim's `now` among queued tasks with a name
   * in its `names`, absent when there is none (or the backend does not
   * tell). The worker wakes then rather than at its next poll; a backend
   * that leaves it out still works, its delayed tasks found by polling.
   */
  nextRunAt?: number;
  /**
   * Optional. When the settlements released waiting tasks (the last task
   * they depended on completed), the earliest run time among them; the
   * backend announces them as enqueued. Absent when none was released.
   */
  releasedRunAt?: number;
  /**
   * Optional, for the backend itself: whether some queue has a limit
   * (schema v8), as the claim saw it, so that the next claims count it.
   */
  limitedQueues?: boolean;
}

/** A stored task, as the table holds it. */
export interface TaskRow {
  /** The task id. */
  id: number;
  /** The task name. */
  name: string;
  /** The queue it belongs to (schema v8). */
  queue: string;
  /** The serialized argument list. */
  args: string;
  /** Where the task is in its life. */
  status: TaskStatus;
  /** Higher is claimed first. */
  priority: number;
  /** Epoch ms; not claimable before. */
  run_at: number;
  /** Attempts started, the running one included. */
  attempts: number;
  /** Total attempts allowed. */
  max_attempts: number;
  /** Per-attempt limit in ms, or null. */
  timeout_ms: number | null;
  /** The worker holding the lease, or that ran it last. */
  worker_id: string | null;
  /** Epoch ms when the running lease expires. */
  lease_expires_at: number | null;
  /**
   * The serialized result once completed; `null` for `undefined` (and
   * before it completes).
   */
  result: string | null;
  /** The JSON StoredError of the latest failure. */
  error: string | null;
  /** The serialized progress last reported. */
  progress: string | null;
  /** Epoch ms of the enqueue. */
  created_at: number;
  /** Epoch ms the latest attempt started. */
  started_at: number | null;
  /** Epoch ms it reached a final status. */
  finished_at: number | null;
  /** The run's unique key, or null (schema v4). */
  unique_key: string | null;
  /** Ms after completing that it keeps holding its key, or null. */
  unique_for: number | null;
  /**
   * Epoch ms when a later enqueue of its key found its `unique_for` window
   * over and took the key; null until then.
   */
  unique_released_at: number | null;
  /**
   * How many of the tasks it depends on have not completed yet (schema
   * v6); a `waiting` task is queued when this reaches 0.
   */
  pending_parents: number;
  /**
   * The parent whose failure or cancellation cancelled it, or null
   * (schema v6).
   */
  cancelled_by: number | null;
}

/** A row of a task's attempt history. */
export interface AttemptRow {
  /** The task the attempt belongs to. */
  task_id: number;
  /** The attempt number, from 1. */
  attempt: number;
  /** The worker holding the lease, or that ran it last. */
  worker_id: string;
  /** Epoch ms the latest attempt started. */
  started_at: number;
  /** Epoch ms it reached a final status. */
  finished_at: number;
  /** How the attempt ended. */
  outcome: AttemptOutcome;
  /** The JSON StoredError, unless it completed. */
  error: string | null;
}

/** Filters for listing tasks, newest first. */
export interface ListQuery {
  /** Only tasks in these statuses. */
  statuses?: readonly TaskStatus[];
  /** Only tasks of this name. */
  name?: string;
  /** Only tasks of this queue. */
  queue?: string;
  /** At most this many rows. */
  limit: number;
  /** Only tasks with a smaller id (the previous page's last id). */
  beforeId?: number;
}

/** How many tasks of one name are in one status. */
export interface NameStatusCount {
  /** The task name. */
  name: string;
  /** The status counted. */
  status: TaskStatus;
  /** How many tasks of that name are in that status. */
  count: number;
}

/** What {@linkcode Backend.countDueExcept} counts. */
export interface DueExceptQuery {
  /** Names not counted: those some running worker handles. */
  names: readonly string[];
  /** Epoch ms; only queued tasks due at or before this are counted. */
  now: number;
  /** At most this many tasks are read, so the count costs a bounded scan. */
  limit: number;
}

/** How many tasks of one name were counted. */
export interface NameCount {
  /** The task name. */
  name: string;
  /** How many of its tasks were counted. */
  count: number;
}

/**
 * A running worker as the registry of workers holds it (schema v7; see
 * {@linkcode Backend.registerWorker}). Unstable, like the rest of this
 * interface.
 */
export interface WorkerRow {
  /** The worker's id. */
  workerId: string;
  /** The task names it handles. */
  names: readonly string[];
  /** The host name of its process ("" where the runtime cannot tell). */
  host: string;
  /** Its process id (0 where the runtime has none). */
  pid: number;
  /** Epoch ms when it started. */
  startedAt: number;
  /** Epoch ms of its last heartbeat. */
  heartbeatAt: number;
}

/**
 * A change to a queue's settings ({@linkcode Backend.updateQueue}); an
 * absent field keeps what is stored, `null` removes a limit.
 */
export interface QueueSettingsChange {
  /** Whether workers claim nothing from it. */
  paused?: boolean;
  /** At most this many of its tasks running at once, across processes. */
  concurrency?: number | null;
  /** At most `limit` starts within any `intervalMs` ms, across processes. */
  rateLimit?: { limit: number; intervalMs: number } | null;
}

/**
 * A queue as {@linkcode Backend.listQueues} reads it: its settings (the
 * defaults when it has no settings row) and its tasks.
 */
export interface QueueRow {
  /** The queue's name. */
  name: string;
  /** Whether it is paused. */
  paused: boolean;
  /** Its global concurrency, or null. */
  concurrency: number | null;
  /** Its rate limit, or null. */
  rateLimit: { limit: number; intervalMs: number } | null;
  /** Its tasks per status (statuses with none may be absent). */
  counts: Partial<Record<TaskStatus, number>>;
  /** The earliest run time (epoch ms) among its due queued tasks, or null. */
  oldestDueAt: number | null;
  /** How many of its queued tasks are due (run time at or before now). */
  dueUnclaimed: number;
}

/**
 * Something changed that may interest a waiting worker or waiter (how these
 * travel is described once, in `change_feed.ts`):
 * - `enqueued`: this process added tasks (or made them claimable again), the
 *   earliest runnable at `runAt` (epoch ms);
 * - `settled`: these tasks changed status in this process;
 * - `external`: another connection committed something;
 * - `schedules`: this process created, changed or removed a schedule
 *   (schema v10): the workers' schedulers read them again;
 * - `notice`: something a user should know about how changes are found.
 *   The one code, `PUSH_UNAVAILABLE`, says that push wake-ups (SQLite: the
 *   watch on the database's write-ahead log) cannot start, or stopped and
 *   cannot restart, so other processes' commits are found by polling alone.
 *   Sent at most once per backend; `message` says it in a sentence.
 */
export type BackendChange =
  | { type: "enqueued"; runAt: number }
  | { type: "schedules" }
  | { type: "settled"; ids: readonly number[] }
  | { type: "external" }
  | { type: "notice"; code: "PUSH_UNAVAILABLE"; message: string };

/** The outcome of a status change asked for by id. */
export interface TransitionResult {
  /** Whether this call changed the task. */
  changed: boolean;
  /** The task after the call, or undefined if there is no such task. */
  row: TaskRow | undefined;
  /**
   * Requeue only: the id of another task of the same name that holds this
   * task's unique key, which kept it from being requeued (`changed` false).
   */
  heldBy?: number;
  /**
   * Requeue only: a task this one depends on (on an edge that does not run
   * anyway) that failed or was cancelled, which kept it from being
   * requeued (`changed` false): requeue that task instead.
   */
  blockedBy?: number;
}

/**
 * Which tasks a bulk operation ({@linkcode Backend.cancelTasks} and the
 * others) selects: every condition given must hold. Times in epoch ms.
 */
export interface TaskFilterQuery {
  /**
   * Only tasks in these statuses: the caller's filter already narrowed to
   * those the operation applies to, never empty.
   */
  statuses: readonly TaskStatus[];
  /** Only tasks with one of these ids (never empty). */
  ids?: readonly number[];
  /** Only tasks with one of these names. */
  names?: readonly string[];
  /** Only tasks in one of these queues. */
  queues?: readonly string[];
  /** Only tasks created before this. */
  createdBefore?: number;
  /** Only tasks that finished before this (unfinished ones never match). */
  finishedBefore?: number;
  /** Only tasks that finished, or if unfinished were created, before this. */
  endedOrCreatedBefore?: number;
}

/** A task event as `sitq_events` holds it (schema v9). Unstable. */
export interface EventRow {
  /** The event's sequence number. */
  id: number;
  /** What happened. */
  type: TaskEventType;
  /** The task. */
  taskId: number;
  /** Its name. */
  name: string;
  /** Its queue. */
  queue: string;
  /** Its attempt count then. */
  attempt: number;
  /** Epoch ms, by the database's clock. */
  at: number;
  /** The serialized progress (`progress` events). */
  progress: string | null;
  /** The JSON StoredError (`retrying`, `failed` events). */
  error: string | null;
}

/** What {@linkcode Backend.readEvents} returns. */
export interface EventPage {
  /** The events after the cursor, in the order to deliver them. */
  events: EventRow[];
  /** The cursor to pass next time. */
  cursor: number;
}

/** A subscriber's row in the registry of subscribers (schema v9). Unstable. */
export interface SubscriberRow {
  /** Its id, unique (random). */
  id: string;
  /** Epoch ms when it registers. */
  startedAt: number;
  /** Epoch ms after which its row counts as dead unless refreshed. */
  expiresAt: number;
}

/** What {@linkcode Backend.heartbeatSubscriber} writes. Unstable. */
export interface SubscriberBeat {
  /** The subscriber's id. */
  id: string;
  /** How far it has read (from {@linkcode Backend.readEvents}). */
  cursor: number;
  /** Epoch ms now. */
  now: number;
  /** Its new expiry, epoch ms. */
  expiresAt: number;
  /** Events older than this (epoch ms) are deleted, read or not. */
  retainAfter: number;
}

/**
 * Storage for tasks. Every method may throw `DatabaseError`.
 *
 * What an implementation must guarantee (atomic claims, fencing, ordering,
 * at-least-once delivery, what `subscribe` delivers) is stated once, in the
 * module doc of `sitq/backend`.
 */
export interface Backend {
  /** A label for logs and tests, e.g. "sqlite (bun:sqlite)". */
  readonly description: string;
  /** Opens the database and runs migrations; other methods call it first. */
  open(): Promise<void>;
  /**
   * Inserts tasks in one transaction and returns their ids in order: for a
   * row with a unique key, the id of the task that holds the key after it
   * (see {@linkcode NewTaskRow.uniqueKey}). With `options.transaction`,
   * writes in that transaction (the caller's, on the same database)
   * instead of one of its own, and leaves the commit to its owner; a
   * backend that cannot write through one throws a `TypeError` saying so.
   *
   * @throws {DuplicateKeyError} For a row whose key is held and whose
   * `onDuplicate` is `"error"`; nothing of the batch is written.
   */
  insertTasks(
    tasks: readonly NewTaskRow[],
    options?: InsertOptions & { outcomes?: false },
  ): Promise<number[]>;
  /**
   * As above, returning an {@linkcode InsertOutcome} per row, in order.
   */
  insertTasks(
    tasks: readonly NewTaskRow[],
    options: InsertOptions & { outcomes: true },
  ): Promise<InsertOutcome[]>;
  /**
   * Inserts a graph of tasks in one transaction (or the caller's, with
   * `options.transaction`) and returns their ids in order. A task whose
   * parents have all completed is `queued`, the others `waiting`; a task
   * with a parent that failed or was cancelled is cancelled at once unless
   * that dependency runs anyway. Edges are stored set-wise, not one
   * statement per pair.
   *
   * @throws {WorkflowError} For a cycle, a self-dependency, an index out of
   * the batch, or an `id` no stored task has; nothing is written.
   */
  insertGraph(
    tasks: readonly NewGraphTask[],
    options?: GraphInsertOptions,
  ): Promise<number[]>;
  /** The parents of task `id`, in the order they were given. */
  getParents(id: number): Promise<ParentRow[]>;
  /**
   * In one transaction: writes `settlements` (each only if the worker still
   * owns that attempt) and then, if `claim` is given, claims tasks; see
   * {@linkcode SettleAndClaimResult} for what it returns.
   */
  settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult>;
  /** Extends the leases of the attempts `tokens` still fence; returns their ids. */
  renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>>;
  /**
   * Makes tasks whose lease expired before `now` claimable again (or failed,
   * when that was their last attempt) and records the lost attempts.
   */
  recoverExpiredLeases(now: number, error: string): Promise<number[]>;
  /** Stores progress while `token` still fences the running attempt. */
  saveProgress(
    token: FencingToken,
    /** The serialized progress last reported. */
    progress: string,
  ): Promise<boolean>;
  /** One task, or undefined. */
  getTask(id: number): Promise<TaskRow | undefined>;
  /** A task's attempt history, oldest first. */
  getAttempts(id: number): Promise<AttemptRow[]>;
  /** Tasks matching `query`, newest first. */
  listTasks(query: ListQuery): Promise<TaskRow[]>;
  /** The number of tasks per status (statuses with none may be absent). */
  countByStatus(): Promise<Partial<Record<TaskStatus, number>>>;
  /**
   * The number of tasks per name and status, ordered by name (pairs with
   * no task may be absent).
   */
  countByName(): Promise<NameStatusCount[]>;
  /**
   * Queued tasks due by `query.now` whose name is not in `query.names`,
   * counted per name among the first `query.limit` such tasks found (when
   * more match, the counts add up to `limit`). Ordered by name.
   */
  countDueExcept(query: DueExceptQuery): Promise<NameCount[]>;
  /**
   * Writes `worker` into the registry of running workers, replacing any
   * row with its id (a restarted worker). Its `heartbeatAt` is the start.
   * Unstable: the registry is new in schema v7.
   */
  registerWorker(worker: WorkerRow): Promise<void>;
  /**
   * Sets the heartbeat of worker `workerId` to `now` (epoch ms). Returns
   * false when it has no row (removed meanwhile): the caller registers
   * again. Also deletes the rows of event subscribers dead at `now`.
   * Unstable.
   */
  heartbeatWorker(workerId: string, now: number): Promise<boolean>;
  /** Deletes worker `workerId` from the registry; no row is no error. Unstable. */
  removeWorker(workerId: string): Promise<void>;
  /**
   * The registered workers whose heartbeat is at or after
   * `now - staleAfter` (ms), ordered by id; older rows are those of killed
   * processes and are left out. Unstable.
   */
  listWorkers(now: number, staleAfter: number): Promise<WorkerRow[]>;
  /**
   * Creates schedule `schedule.name`, or updates it when its definition or
   * (given) paused state differs (a new revision; a new definition or a
   * resume takes `schedule.next_run_at`); a call with what is stored
   * changes nothing. Announces a change (`schedules`). Unstable (schema
   * v10), like the rest of this interface.
   */
  saveSchedule(schedule: ScheduleWrite): Promise<ScheduleSaved>;
  /** Every schedule, ordered by name. Unstable. */
  listSchedules(): Promise<ScheduleRow[]>;
  /** Schedule `name`, or undefined. Unstable. */
  getSchedule(name: string): Promise<ScheduleRow | undefined>;
  /**
   * Pauses (next slot null) or resumes (next slot `nextRunAt`) schedule
   * `name`, a new revision when its state changes; returns the row after,
   * or undefined when there is none. Unstable.
   */
  pauseSchedule(
    name: string,
    paused: boolean,
    nextRunAt: number | null,
    now: number,
  ): Promise<ScheduleRow | undefined>;
  /** Deletes schedule `name`; false when there was none. Unstable. */
  removeSchedule(name: string): Promise<boolean>;
  /**
   * In one transaction: advances schedule `firing.name` from
   * `firing.expectedNextRunAt` to `firing.nextRunAt` where its revision is
   * still `firing.revision` and it is not paused (compare-and-set), and if
   * it did, inserts `firing.tasks` (each with its slot's unique key).
   * Returns undefined when the schedule had moved on. Unstable.
   */
  fireSchedule(firing: ScheduleFiring): Promise<ScheduleFired | undefined>;
  /**
   * Cancels a waiting or queued task, and with it (in the same
   * transaction) the tasks that depend on it, transitively, unless they
   * run anyway.
   */
  cancel(id: number, now: number): Promise<TransitionResult>;
  /**
   * Puts a failed or cancelled task back in the queue with its attempts
   * reset (`waiting` if some task it depends on has not completed); not
   * while another task of its name holds its unique key (`changed` false
   * and `heldBy` set then). The tasks its failure or cancellation
   * cancelled come back too, as `waiting`, transitively.
   */
  requeue(id: number, now: number): Promise<TransitionResult>;
  /**
   * Creates or changes queue `name`'s settings row (schema v8) at `now`
   * (epoch ms), and tells waiting workers, here and in other processes.
   * Unstable, like the rest of this interface.
   */
  updateQueue(
    name: string,
    change: QueueSettingsChange,
    now: number,
  ): Promise<void>;
  /**
   * Every queue that has tasks or a settings row, ordered by name (only
   * queue `name` when given); `now` decides which queued tasks are due.
   * Unstable.
   */
  listQueues(now: number, name?: string): Promise<QueueRow[]>;
  /** Deletes tasks in `statuses` that finished before `before`; returns how many. */
  prune(statuses: readonly TaskStatus[], before: number): Promise<number>;
  /**
   * Cancels the waiting, queued or running tasks `filter` selects, in one
   * transaction, with their dependents as {@linkcode Backend.cancel} does;
   * returns how many it cancelled (dependents not counted).
   */
  cancelTasks(filter: TaskFilterQuery, now: number): Promise<number>;
  /**
   * Requeues the failed or cancelled tasks `filter` selects, in one
   * transaction, each as {@linkcode Backend.requeue} does; those it would
   * refuse (key held, a parent failed) are skipped. Returns how many it
   * requeued.
   */
  requeueTasks(filter: TaskFilterQuery, now: number): Promise<number>;
  /**
   * Deletes the finished tasks `filter` selects (its statuses are final
   * ones), with their history, in one transaction; returns how many.
   */
  deleteTasks(filter: TaskFilterQuery): Promise<number>;
  /**
   * The tasks among `ids` whose status is `cancelled`: a worker asks after
   * a change whether a task it runs was cancelled. Unstable.
   */
  cancelledAmong(ids: readonly number[]): Promise<number[]>;
  /**
   * Registers an event subscriber: from its commit on, every task change
   * writes an event (schema v9). Returns its starting cursor. Unstable.
   */
  registerSubscriber(row: SubscriberRow): Promise<number>;
  /**
   * Refreshes a subscriber's row and deletes dead rows and old events;
   * false when its row is gone (the caller registers again). Unstable.
   */
  heartbeatSubscriber(beat: SubscriberBeat): Promise<boolean>;
  /**
   * Deletes a subscriber's row (no row is no error), and the rows of
   * subscribers dead at `now` (epoch ms). Unstable.
   */
  removeSubscriber(id: string, now: number): Promise<void>;
  /** The events after `cursor`, at most about `limit`. Unstable. */
  readEvents(cursor: number, limit: number): Promise<EventPage>;
  /**
   * Calls `listener` on every {@linkcode BackendChange} until unsubscribed.
   * Errors a listener throws are ignored.
   */
  subscribe(listener: (change: BackendChange) => void): Unsubscribe;
  /** Closes the database; idempotent. */
  close(): Promise<void>;
}
