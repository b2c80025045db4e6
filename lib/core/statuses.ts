/**
 * The one home of the task status sets: which statuses exist, which are
 * final, which are live. Everything that asks "is this task finished?" asks
 * here. `TaskStatus` (in `types.ts`) is derived from `TASK_STATUSES`; the
 * final and live sets are checked against it by the compiler, so a status
 * added to the list must be placed in one of them.
 *
 * @module
 */
import type { FinalStatus, TaskStatus } from "./types.ts";

/**
 * Every state a stored task can be in, in the order of its life.
 *
 * @example
 * ```ts
 * import { TASK_STATUSES } from "sitq";
 *
 * console.log(TASK_STATUSES.join(", ")); // "waiting, queued, running, completed, failed, cancelled"
 * ```
 */
export const TASK_STATUSES = [
  "waiting",
  "queued",
  "running",
  "completed",
  "failed",
  "cancelled",
] as const;

/**
 * Statuses a task never leaves on its own: its outcome is decided. Listed as
 * the keys of a record over {@linkcode FinalStatus}, so the list and the type
 * cannot drift apart (a missing or extra status is a compile error).
 */
export const FINAL_STATUSES: readonly FinalStatus[] = Object.freeze(
  Object.keys(
    {
      completed: true,
      failed: true,
      cancelled: true,
    } satisfies Record<FinalStatus, true>,
  ) as FinalStatus[],
);

/**
 * Statuses of a task that may still run: waiting (for the tasks it depends
 * on), queued or running. With
 * {@linkcode FINAL_STATUSES} they cover every status exactly once (checked by
 * the compiler as for the final ones).
 */
export const LIVE_STATUSES: readonly TaskStatus[] = Object.freeze(
  Object.keys(
    {
      waiting: true,
      queued: true,
      running: true,
    } satisfies Record<Exclude<TaskStatus, FinalStatus>, true>,
  ) as TaskStatus[],
);

/** Whether `status` is final (completed, failed or cancelled). */
export function isFinalStatus(status: TaskStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly TaskStatus[]).includes(status);
}
