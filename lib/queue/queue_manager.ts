/**
 * The managing half of `QueueAdmin`: cancel, requeue and prune one task or
 * every task a filter selects, each handed to `manage.ts`. Extends
 * `QueueReader`; `QueueAdmin` extends it with subscriptions and closing.
 *
 * @module
 */
import type { TaskId } from "../core/types.ts";
import {
  cancelByFilter,
  cancelTask,
  deleteByFilter,
  pruneTasks,
  requeueByFilter,
  requeueTask,
} from "./manage.ts";
import type { PruneOptions } from "./options.ts";
import { QueueReader } from "./queue_reader.ts";
import type { TaskFilter } from "./task_filter.ts";

/**
 * Reads and manages the tasks stored on a {@linkcode Backend}: everything
 * {@linkcode QueueReader} does, plus cancel, requeue and prune, one task
 * or by filter. The base of {@linkcode QueueAdmin}, which is what to
 * construct.
 */
export class QueueManager extends QueueReader {
  /**
   * Cancels a task that has not finished, from any process, and with it the
   * tasks that depend on it (workflow steps, transitively; those whose
   * dependency runs anyway are released instead). A waiting or queued task
   * is never run. A running task ends `cancelled` at once in the database
   * and is not retried; the worker running it (in any process) notices
   * within its usual wake-up time and aborts the handler's `signal` with a
   * {@linkcode CancelledError}; whatever the handler returns or throws
   * afterwards is ignored. Its unique key, if any, is free at once.
   * Cancelling a cancelled task does nothing.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * const id = await queue.enqueue(noop.with({ delay: 60_000 }));
   * await queue.cancel(id);
   * console.log((await queue.getResult(id)).status); // "cancelled"
   * await queue.close();
   * ```
   *
   * @param id An id returned by `enqueue`.
   * @throws {TaskNotFoundError} If no task has that id.
   * @throws {InvalidStateError} If it is completed or failed.
   */
  async cancel(id: TaskId | number): Promise<void> {
    await cancelTask(this.backend, id, this.clock);
  }

  /**
   * Puts a failed or cancelled task back in the queue, due now, with its
   * attempts reset to 0 (its history is kept). Due now even if it had a
   * later run time: a cancelled task enqueued with a future `delay` or
   * `runAt` runs at once once requeued (enqueue it again with that `runAt`
   * to keep it). A task with a unique key takes its key back, which it
   * cannot while another task of its name holds it. A workflow step waits
   * again if a step it depends on has not completed; the steps its failure
   * or cancellation cancelled come back with it, as `waiting`.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * const id = await queue.enqueue(noop);
   * await queue.cancel(id);
   * await queue.requeue(id);
   * console.log((await queue.getResult(id)).status); // "queued"
   * await queue.close();
   * ```
   *
   * @param id An id returned by `enqueue`.
   * @throws {TaskNotFoundError} If no task has that id.
   * @throws {InvalidStateError} If it is waiting, queued, running or
   * completed, or a task it depends on failed or was cancelled (requeue
   * that one: this one comes back with it).
   * @throws {DuplicateKeyError} If another task of its name holds its
   * unique key (enqueued since it failed or was cancelled).
   */
  async requeue(id: TaskId | number): Promise<void> {
    await requeueTask(this.backend, id, this.clock);
  }

  /**
   * Deletes finished tasks (and their history) to keep the database small.
   *
   * @example Keep a day of completed tasks
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const removed = await queue.prune({ olderThan: 24 * 3_600_000 });
   * console.log(removed); // 0
   * await queue.close();
   * ```
   *
   * @param options Age and statuses to delete.
   * @returns How many tasks were deleted.
   * @throws {TypeError | RangeError} If an option is invalid.
   */
  async prune(options: PruneOptions): Promise<number> {
    return await pruneTasks(this.backend, options, this.clock);
  }

  /**
   * Cancels every waiting, queued or running task that `filter` selects,
   * in one transaction, each as {@linkcode QueueAdmin.cancel} does (running
   * ones are aborted by their workers, dependents are cancelled with
   * them). Tasks in other statuses are skipped.
   *
   * @example Cancel every queued "email" task
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const email = queue.task("email", (to: string) => to);
   * await queue.enqueue(email, "a@example.com");
   * console.log(await queue.cancelTasks({ name: "email", status: "queued" })); // 1
   * await queue.close();
   * ```
   *
   * @param filter Which tasks (see {@linkcode TaskFilter}); `{}`: all.
   * @returns How many tasks it cancelled (dependents cancelled with them
   * are not counted).
   * @throws {TypeError | RangeError} If the filter is invalid.
   */
  async cancelTasks(filter: TaskFilter): Promise<number> {
    return await cancelByFilter(this.backend, filter, this.clock);
  }

  /**
   * Puts every failed or cancelled task that `filter` selects back in the
   * queue, in one transaction, each as {@linkcode QueueAdmin.requeue} does.
   * Tasks in other statuses are skipped, and so are those a requeue would
   * refuse: another task holds their unique key, or a task they depend on
   * failed (requeue that one).
   *
   * @example Retry every failed "email" task
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * console.log(await queue.requeueTasks({ status: "failed", name: "email" })); // 0
   * await queue.close();
   * ```
   *
   * @param filter Which tasks (see {@linkcode TaskFilter}); `{}`: all.
   * @returns How many tasks it requeued.
   * @throws {TypeError | RangeError} If the filter is invalid.
   */
  async requeueTasks(filter: TaskFilter): Promise<number> {
    return await requeueByFilter(this.backend, filter, this.clock);
  }

  /**
   * Deletes every completed, failed or cancelled task that `filter`
   * selects, with its history, in one transaction. Unfinished tasks are
   * skipped (cancel them first). An empty filter is refused, so that a
   * forgotten condition cannot empty the database: say which on purpose,
   * e.g. `{ status: ["completed", "failed", "cancelled"] }`.
   *
   * @example Delete failed "email" tasks older than a week
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const week = 7 * 24 * 3_600_000;
   * console.log(await queue.deleteTasks({ status: "failed", name: "email", olderThan: week })); // 0
   * await queue.close();
   * ```
   *
   * @param filter Which tasks (see {@linkcode TaskFilter}).
   * @returns How many tasks it deleted.
   * @throws {InvalidStateError} If the filter has no condition.
   * @throws {TypeError | RangeError} If the filter is invalid.
   */
  async deleteTasks(filter: TaskFilter): Promise<number> {
    return await deleteByFilter(this.backend, filter, this.clock);
  }
}
