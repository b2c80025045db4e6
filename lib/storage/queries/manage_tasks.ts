/**
 * Manage: the status changes a user asks for by id, and pruning.
 *
 * - Cancel. Parameters: the id, `now` (epoch ms). Guard: `status IN
 *   ('waiting', 'queued')`; a running task is not cancelled (its worker
 *   would not know).
 * - Requeue. Parameters: the id, `now`. Guard: `status IN ('failed',
 *   'cancelled')`; the task is queued to run at `now` with its attempts,
 *   result, error and progress reset.
 * - Prune. Parameters: final statuses (at least one), `before` (epoch ms).
 *   Guard: only tasks in those statuses that finished before `before`;
 *   their history goes with them.
 *
 * Cancel and requeue run in the caller's write transaction and read the
 * task back in it, so the row returned is the one the change left.
 *
 * @module
 */
import type { ExpressionBuilder, Kysely, Updateable } from "kysely";
import type { FinalStatus, TaskStatus } from "../../core/types.ts";
import type { TransitionResult } from "../backend.ts";
import type { SitqSchema, TasksTable } from "../schema.ts";
import { selectTask } from "./inspect_tasks.ts";

/** A status change by id: `(trx, id, now)` to the task as it left it. */
type Transition = (
  trx: Kysely<SitqSchema>,
  id: number,
  now: number,
) => Promise<TransitionResult>;

/**
 * The transition that applies `changes(now)` to a task in one of `from`,
 * and reads the task back either way.
 */
function transition(
  from: readonly TaskStatus[],
  changes: (now: number) => Updateable<TasksTable>,
): Transition {
  return async (trx, id, now) => {
    const update = await trx.updateTable("sitq_tasks").set(changes(now))
      .where("id", "=", id).where("status", "in", from)
      .executeTakeFirst();
    return {
      changed: update.numUpdatedRows > 0n,
      row: await selectTask(trx, id),
    };
  };
}

/** Cancels a waiting or queued task (its dependents: `release_dependents.ts`). */
export const cancelTask: Transition = transition(
  ["waiting", "queued"],
  (now) => ({ status: "cancelled", finished_at: now }),
);

/** Puts a failed or cancelled task back in the queue, due at `now`. */
export const requeueTask: Transition = transition(
  ["failed", "cancelled"],
  (now) => ({
    status: "queued",
    attempts: 0,
    run_at: now,
    result: null,
    error: null,
    progress: null,
    lease_expires_at: null,
    started_at: null,
    finished_at: null,
  }),
);

/**
 * Deletes tasks in `final` statuses that finished before `before`, with
 * their history; returns how many tasks.
 */
export async function pruneTasks(
  trx: Kysely<SitqSchema>,
  final: readonly FinalStatus[],
  before: number,
): Promise<number> {
  // Their dependency edges, either way round (schema v6).
  const pruned = (eb: ExpressionBuilder<SitqSchema, "sitq_dependencies">) =>
    eb.selectFrom("sitq_tasks").select("id")
      .where("status", "in", final).where("finished_at", "<", before);
  await trx.deleteFrom("sitq_dependencies")
    .where((eb) =>
      eb.or([
        eb("child_id", "in", pruned(eb)),
        eb("parent_id", "in", pruned(eb)),
      ])
    )
    .execute();
  await trx.deleteFrom("sitq_attempts")
    .where("task_id", "in", (eb) =>
      eb.selectFrom("sitq_tasks").select("id")
        .where("status", "in", final).where("finished_at", "<", before))
    .execute();
  const result = await trx.deleteFrom("sitq_tasks")
    .where("status", "in", final).where("finished_at", "<", before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
