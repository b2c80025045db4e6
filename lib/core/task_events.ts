/**
 * The public shapes of task events (`queue.subscribe()`): what happened to
 * a task, told to subscribers in any process on the same database.
 *
 * @module
 */
import type { StoredError, TaskId } from "./types.ts";

/**
 * What happened to a task:
 * - `enqueued`: it was inserted (any enqueue: plain, keyed, bulk, workflow,
 *   in a transaction), or put back in the queue by a requeue;
 * - `started`: a worker claimed it and an attempt began;
 * - `progress`: its handler reported progress;
 * - `retrying`: an attempt ended and the task is queued again (a retry
 *   after a failure, a worker stopping, an expired lease);
 * - `completed`, `failed` (for good), `cancelled`: it reached that status.
 */
export type TaskEventType =
  | "enqueued"
  | "started"
  | "progress"
  | "retrying"
  | "completed"
  | "failed"
  | "cancelled";

/** Every {@linkcode TaskEventType}, in a task's usual order. */
export const TASK_EVENT_TYPES: readonly TaskEventType[] = [
  "enqueued",
  "started",
  "progress",
  "retrying",
  "completed",
  "failed",
  "cancelled",
];

/**
 * One event of one task, as a subscriber receives it.
 *
 * @example
 * ```ts
 * import type { TaskEvent } from "sitq";
 *
 * const log = (event: TaskEvent) =>
 *   console.log(event.id, event.type, event.name, event.taskId, event.at.toISOString());
 * ```
 */
export interface TaskEvent {
  /**
   * The event's sequence number in the database, unique. Events of one
   * task arrive in the order they happened. On SQLite ids also increase in
   * the order a subscriber receives events; on PostgreSQL, which numbers
   * events before their transactions commit, a later-delivered event may
   * have a smaller id than an earlier one of another task.
   */
  id: number;
  /** What happened. */
  type: TaskEventType;
  /** The task it happened to. */
  taskId: TaskId;
  /** The task's name. */
  name: string;
  /** The task's queue. */
  queue: string;
  /**
   * The task's attempt count when it happened (for `started`, the number of
   * the attempt that began; 0 for a task never run).
   */
  attempt: number;
  /** When it happened, by the database's clock. */
  at: Date;
  /** `progress` events: the value the handler reported. */
  progress?: unknown;
  /** `retrying` and `failed` events: the error of the attempt that ended. */
  error?: StoredError;
}
