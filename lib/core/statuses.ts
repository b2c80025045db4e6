/**
 * The one home of the task status sets: which statuses exist, which are
 * final, which are live. Everything that asks "is this task finished?" asks
 * here.
 *
 * @module
 */
import type { FinalStatus, TaskStatus } from "./types.ts";

export { TASK_STATUSES } from "./types.ts";

/** Statuses a task never leaves on its own: its outcome is decided. */
export const FINAL_STATUSES: readonly FinalStatus[] = [
  "completed",
  "failed",
  "cancelled",
];

/** Statuses of a task that may still run: queued or running. */
export const LIVE_STATUSES: readonly TaskStatus[] = ["queued", "running"];

/** Whether `status` is final (completed, failed or cancelled). */
export function isFinalStatus(status: TaskStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly TaskStatus[]).includes(status);
}
