/**
 * The queue's side of unique keys: the result `enqueueUnique` returns, the
 * options of a bulk enqueue with a key per argument list, and turning what
 * the backend says about each row into those results. The rules of a key
 * are `core/unique_keys.ts`; how the backend keeps one task per key is
 * `storage/queries/insert_keyed.ts`.
 *
 * @module
 */
import type { RunOptions } from "../core/task.ts";
import type { TaskId, TaskStatus } from "../core/types.ts";
import type { InsertOutcome, NewTaskRow } from "../storage/backend.ts";

/**
 * What an enqueue with a unique key did: whether it created a task, and
 * which task holds the key now. Returned by `queue.enqueueUnique` and
 * `queue.enqueueManyUnique`.
 *
 * @typeParam Result The task's result type, carried by `id`.
 *
 * @example
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const sync = queue.task("sync", (userId: number) => userId);
 * const first = await queue.enqueueUnique(sync.with({ uniqueKey: "user:7" }), 7);
 * const again = await queue.enqueueUnique(sync.with({ uniqueKey: "user:7" }), 7);
 * console.log(first.created, again.created, again.id === first.id); // true false true
 * await queue.close();
 * ```
 */
export interface UniqueEnqueueResult<Result = unknown> {
  /**
   * The task that holds the key now: the new task when `created`, else the
   * task that already held it (the one rewritten, when `replaced`). Await
   * it like any id: `queue.waitForResult(result.id)`.
   */
  id: TaskId<Result>;
  /** The run's unique key. */
  key: string;
  /** Whether this enqueue created the task. */
  created: boolean;
  /**
   * Whether this enqueue rewrote the holder's run (`onDuplicate:
   * "replace"` meeting a waiting or queued holder). False when it created
   * the task, kept the holder, or met a running holder or a completed one
   * within its `uniqueFor` window, which are never rewritten.
   */
  replaced: boolean;
  /**
   * The holder's status as the enqueue left it: `"queued"` for a task
   * created or replaced; for one kept, `"queued"`, `"running"` or
   * `"completed"` (within its `uniqueFor` window).
   */
  status: TaskStatus;
}

/**
 * Options for every run of a bulk enqueue (`enqueueMany`,
 * `enqueueManyUnique`): {@linkcode RunOptions}, where `uniqueKey` may
 * also be a function of each run's arguments, giving each its own key.
 *
 * Runs of one batch are applied in order, as if enqueued one after
 * another in one transaction: a run whose key an earlier run of the batch
 * took meets that run as its holder (kept, or replaced with its own
 * arguments: the last run of a key wins), and with `onDuplicate: "error"`
 * the whole batch is refused before anything is written.
 *
 * @typeParam Args The task's argument list.
 *
 * @example One key per user
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const sync = queue.task("sync", (userId: number) => userId);
 * const results = await queue.enqueueManyUnique(sync, [[1], [2], [1]], {
 *   uniqueKey: (userId) => `user:${userId}`,
 * });
 * console.log(results.map((r) => r.created)); // [ true, true, false ]
 * await queue.close();
 * ```
 */
export interface EnqueueManyOptions<Args extends unknown[] = unknown[]>
  extends Omit<RunOptions, "uniqueKey"> {
  /**
   * A key for every run (all but the first then meet the first), or a
   * function that gives each run its key from its arguments. See
   * {@linkcode RunOptions.uniqueKey}.
   */
  uniqueKey?: string | ((...args: Args) => string);
}

/**
 * Throws unless the runs about to be enqueued carry a unique key: what
 * `enqueueUnique` and `enqueueManyUnique` need to report on.
 *
 * @throws {TypeError} Naming the method and how to give a key.
 */
export function requireUniqueKey(
  task: { readonly name?: string } | undefined,
  options: { uniqueKey?: unknown } | undefined,
  method: string,
): void {
  if (options?.uniqueKey !== undefined) return;
  throw new TypeError(
    `Cannot ${method} task "${task?.name}" as it has no 'uniqueKey': give one with task.with({ uniqueKey: "..." })${
      method === "enqueueManyUnique"
        ? " or the options ({ uniqueKey: (...args) => key })"
        : ""
    }, or call ${method === "enqueueUnique" ? "enqueue" : "enqueueMany"}()`,
  );
}

/** The results for `rows` (each with a key) from the backend's `outcomes`. */
export function toUniqueResults<Result>(
  rows: readonly NewTaskRow[],
  outcomes: readonly InsertOutcome[],
): UniqueEnqueueResult<Result>[] {
  return outcomes.map((outcome, index) => ({
    id: outcome.id as TaskId<Result>,
    key: rows[index]!.uniqueKey!,
    created: outcome.created,
    replaced: outcome.replaced,
    status: outcome.status,
  }));
}
