/**
 * Changing stored tasks: cancelling a queued task, putting a failed or
 * cancelled one back in the queue, deleting old finished ones. The backend
 * makes each change in one statement and says whether it happened; here
 * that answer becomes the caller's error when it did not.
 *
 * @module
 */
import { InvalidStateError, TaskNotFoundError } from "../core/errors.ts";
import type { Clock, TaskStatus } from "../core/types.ts";
import { checkInteger } from "../core/validate.ts";
import type { Backend, TransitionResult } from "../storage/backend.ts";
import { type PruneOptions, toPruneQuery } from "./options.ts";

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

/** queued -> cancelled; a task already cancelled stays so, silently. */
const CANCEL: Transition = {
  verb: "cancel",
  done: "cancelled",
  from: "queued",
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
  const { changed, row } = await rule.apply(backend, id, clock.now());
  if (row === undefined) throw new TaskNotFoundError(id);
  if (!changed && !rule.alreadyDone(row.status)) {
    throw new InvalidStateError(
      `Cannot ${rule.verb} task ${id}: it is ${row.status}, and only ${rule.from} tasks can be ${rule.done}`,
    );
  }
}

/**
 * Cancels queued task `id`; a task already cancelled stays so, silently.
 *
 * @throws {TypeError | RangeError} If `id` is not an integer >= 1.
 * @throws {TaskNotFoundError} If no task has that id.
 * @throws {InvalidStateError} If it is running, completed or failed.
 */
export function cancelTask(
  backend: Backend,
  id: number,
  clock: Clock,
): Promise<void> {
  return transition(backend, id, clock, CANCEL);
}

/**
 * Puts failed or cancelled task `id` back in the queue, due now.
 *
 * @throws {TypeError | RangeError} If `id` is not an integer >= 1.
 * @throws {TaskNotFoundError} If no task has that id.
 * @throws {InvalidStateError} If it is queued, running or completed.
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
