/**
 * Changing stored tasks: cancelling a queued task, putting a failed or
 * cancelled one back in the queue, deleting old finished ones. The backend
 * makes each change in one statement and says whether it happened; here
 * that answer becomes the caller's error when it did not.
 *
 * @module
 */
import {
  DuplicateKeyError,
  InvalidStateError,
  TaskNotFoundError,
} from "../core/errors.ts";
import type { Clock, TaskStatus } from "../core/types.ts";
import { checkInteger } from "../core/validate.ts";
import { FINAL_STATUSES } from "../core/statuses.ts";
import type { Backend, TransitionResult } from "../storage/backend.ts";
import { type PruneOptions, toPruneQuery } from "./options.ts";
import {
  isEmptyFilter,
  type TaskFilter,
  toFilterQuery,
} from "./task_filter.ts";

/** A change of status asked for by id, and the rule it follows. */
interface Transition {
  /** The verb, for messages: "cancel". */
  verb: string;
  /** Its past participle: "cancelled". */
  done: string;
  /** Which tasks it applies to, in words: "queued". */
  from: string;
  /** Makes the change, at `now` (epoch ms). */
  apply(backend: Backend, id: number, now: number): Promise<TransitionResult>;
  /** Whether a call that changed nothing still succeeds. */
  alreadyDone(status: TaskStatus): boolean;
}

/**
 * waiting, queued or running -> cancelled, with the tasks that depend on
 * it; a task already cancelled stays so, silently.
 */
const CANCEL: Transition = {
  verb: "cancel",
  done: "cancelled",
  from: "waiting, queued or running",
  apply: (backend, id, now) => backend.cancel(id, now),
  alreadyDone: (status) => status === "cancelled",
};

/** failed or cancelled -> queued (due now, attempts reset to 0). */
const REQUEUE: Transition = {
  verb: "requeue",
  done: "requeued",
  from: "failed or cancelled",
  apply: (backend, id, now) => backend.requeue(id, now),
  alreadyDone: () => false,
};

async function transition(
  backend: Backend,
  id: number,
  clock: Clock,
  rule: Transition,
): Promise<void> {
  checkInteger(id, `${rule.verb} task`, "id", 1);
  const { changed, row, heldBy, blockedBy } = await rule.apply(
    backend,
    id,
    clock.now(),
  );
  if (row === undefined) throw new TaskNotFoundError(id);
  if (!changed && heldBy !== undefined && row.unique_key !== null) {
    throw new DuplicateKeyError(
      row.name,
      row.unique_key,
      heldBy,
      `Cannot ${rule.verb} task ${id}: task ${heldBy} holds its unique key ${
        JSON.stringify(row.unique_key)
      }, and two tasks of "${row.name}" cannot hold one key; wait for task ${heldBy} to finish first`,
    );
  }
  if (!changed && blockedBy !== undefined) {
    throw new InvalidStateError(
      `Cannot ${rule.verb} task ${id}: task ${blockedBy}, which it depends on, failed or was cancelled, so it would wait forever; requeue task ${blockedBy} instead, and task ${id} comes back with it`,
    );
  }
  if (!changed && !rule.alreadyDone(row.status)) {
    throw new InvalidStateError(
      `Cannot ${rule.verb} task ${id}: it is ${row.status}, and only ${rule.from} tasks can be ${rule.done}`,
    );
  }
}

/**
 * Cancels waiting, queued or running task `id`, and the tasks that depend
 * on it; a task already cancelled stays so, silently. A running task's
 * worker aborts its handler (`CancelledError`) once it notices.
 *
 * @throws {TypeError | RangeError} If `id` is not an integer >= 1.
 * @throws {TaskNotFoundError} If no task has that id.
 * @throws {InvalidStateError} If it is completed or failed.
 */
export function cancelTask(
  backend: Backend,
  id: number,
  clock: Clock,
): Promise<void> {
  return transition(backend, id, clock, CANCEL);
}

/**
 * Puts failed or cancelled task `id` back in the queue, due now (waiting,
 * if a task it depends on has not completed), with the tasks its end
 * cancelled.
 *
 * @throws {TypeError | RangeError} If `id` is not an integer >= 1.
 * @throws {TaskNotFoundError} If no task has that id.
 * @throws {InvalidStateError} If it is waiting, queued, running or
 * completed, or a task it depends on failed or was cancelled.
 * @throws {DuplicateKeyError} If another task of its name holds its
 * unique key.
 */
export function requeueTask(
  backend: Backend,
  id: number,
  clock: Clock,
): Promise<void> {
  return transition(backend, id, clock, REQUEUE);
}

/**
 * Deletes the tasks (and their histories) that `options` select.
 *
 * @returns How many tasks were deleted.
 * @throws {TypeError | RangeError} If an option is invalid.
 */
export async function pruneTasks(
  backend: Backend,
  options: PruneOptions,
  clock: Clock,
): Promise<number> {
  const { statuses, before } = toPruneQuery(options, clock);
  return await backend.prune(statuses, before);
}

/**
 * Cancels the waiting, queued and running tasks `filter` selects, in one
 * transaction, with their dependents; other statuses are skipped.
 *
 * @returns How many tasks it cancelled (dependents not counted).
 * @throws {TypeError | RangeError} If the filter is invalid.
 */
export async function cancelByFilter(
  backend: Backend,
  filter: TaskFilter,
  clock: Clock,
): Promise<number> {
  const query = toFilterQuery(
    filter,
    ["waiting", "queued", "running"],
    clock,
    "cancel tasks",
  );
  return query === undefined
    ? 0
    : await backend.cancelTasks(query, clock.now());
}

/**
 * Requeues the failed and cancelled tasks `filter` selects, in one
 * transaction; other statuses, and tasks a requeue would refuse (their key
 * is held, a task they depend on failed), are skipped.
 *
 * @returns How many tasks it requeued.
 * @throws {TypeError | RangeError} If the filter is invalid.
 */
export async function requeueByFilter(
  backend: Backend,
  filter: TaskFilter,
  clock: Clock,
): Promise<number> {
  const query = toFilterQuery(
    filter,
    ["failed", "cancelled"],
    clock,
    "requeue tasks",
  );
  return query === undefined
    ? 0
    : await backend.requeueTasks(query, clock.now());
}

/**
 * Deletes the completed, failed and cancelled tasks `filter` selects, with
 * their history, in one transaction; unfinished tasks are skipped.
 *
 * @returns How many tasks it deleted.
 * @throws {InvalidStateError} If the filter is empty.
 * @throws {TypeError | RangeError} If the filter is invalid.
 */
export async function deleteByFilter(
  backend: Backend,
  filter: TaskFilter,
  clock: Clock,
): Promise<number> {
  if (isEmptyFilter(filter)) {
    throw new InvalidStateError(
      'Cannot delete tasks with an empty filter, which would delete every finished task; say which on purpose, e.g. { status: ["completed", "failed", "cancelled"] }',
    );
  }
  const query = toFilterQuery(filter, FINAL_STATUSES, clock, "delete tasks");
  return query === undefined ? 0 : await backend.deleteTasks(query);
}
