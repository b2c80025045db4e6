/**
 * Where dependencies join the SQL backend's writes: each write that can
 * end a task (a settlement, a cancel) runs `release_dependents.ts` after
 * its own statements, in its transaction, and a requeue brings back what
 * the task's end cancelled. Kept here so that `sql_backend.ts` calls one
 * function per write and the worker's statements stay as they are.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type { TaskStatus } from "../core/types.ts";
import type {
  SettleAndClaimResult,
  Settlement,
  TransitionResult,
} from "./backend.ts";
import { selectTask } from "./queries/inspect_tasks.ts";
import type {
  Dependents,
  DependentsOutcome,
} from "./queries/release_dependents.ts";
import type { SitqSchema } from "./schema.ts";
import { runProgram, type WriteProgram } from "./write_program.ts";

/** A settle-and-claim's result, and the tasks its settlements cancelled. */
export interface SettledWithDependents {
  /** What the worker gets back. */
  result: SettleAndClaimResult;
  /** Tasks cancelled because a task they depended on ended badly. */
  cancelled: readonly number[];
}

/** Whether `settlement` ends its task for good (completed or failed). */
function ends(settlement: Settlement): boolean {
  return settlement.outcome === "completed" ||
    ((settlement.outcome === "failed" || settlement.outcome === "timed_out") &&
      settlement.retryAt === null);
}

/**
 * Runs `settleAndClaim`, then releases or cancels the dependents of the
 * tasks its applied settlements ended, in the same transaction.
 */
export function* settleThenRelease(
  settleAndClaim: WriteProgram<SettleAndClaimResult>,
  settlements: readonly Settlement[],
  dependents: Dependents,
): WriteProgram<SettledWithDependents> {
  const result = yield* settleAndClaim;
  const ended: number[] = [];
  let now = 0;
  settlements.forEach((settlement, index) => {
    if (result.applied[index] === true && ends(settlement)) {
      ended.push(settlement.id);
      now = Math.max(now, settlement.finishedAt);
    }
  });
  if (ended.length === 0) return { result, cancelled: [] };
  const outcome = yield* dependents.afterEnded(ended, now);
  return {
    result: outcome.released > 0 ? { ...result, releasedRunAt: now } : result,
    cancelled: outcome.cancelled,
  };
}

/** A cancel's result and what it did to the task's dependents. */
export interface CancelWithDependents extends DependentsOutcome {
  /** The cancel itself. */
  result: TransitionResult;
}

/** Awaits `cancel`, then handles the cancelled task's dependents. */
export async function afterCancel(
  cancel: Promise<TransitionResult>,
  trx: Kysely<SitqSchema>,
  dependents: Dependents,
  { id, now }: { id: number; now: number },
): Promise<CancelWithDependents> {
  const result = await cancel;
  if (!result.changed) return { result, released: 0, cancelled: [] };
  const outcome = await runProgram(dependents.afterEnded([id], now), trx);
  return { result, ...outcome };
}

const FAILED = sql.lit<TaskStatus>("failed");
const CANCELLED = sql.lit<TaskStatus>("cancelled");

/**
 * A parent of task `id` that failed or was cancelled, on an edge that does
 * not run anyway: requeueing `id` would leave it waiting for a task that
 * will never complete, so requeue is refused and names that parent.
 */
export async function requeueBlockedBy(
  trx: Kysely<SitqSchema>,
  id: number,
): Promise<number | undefined> {
  const row = await trx.selectFrom("sitq_dependencies as d")
    .innerJoin("sitq_tasks as p", "p.id", "d.parent_id")
    .select("p.id")
    .where("d.child_id", "=", id).where("d.satisfied", "=", 0)
    .where("d.run_anyway", "=", 0)
    .where("p.status", "in", [FAILED, CANCELLED])
    .orderBy("p.id").limit(1).executeTakeFirst();
  return row === undefined ? undefined : Number(row.id);
}

/**
 * After task `id` was requeued: counts the edges that still hold it back
 * (it waits if any does), and brings back the tasks its end cancelled.
 * Returns the task as it now is.
 */
export async function afterRequeue(
  trx: Kysely<SitqSchema>,
  dependents: Dependents,
  id: number,
): Promise<TransitionResult> {
  await trx.updateTable("sitq_tasks").set((eb) => ({
    pending_parents: eb.selectFrom("sitq_dependencies")
      .select((eb) => eb.fn.countAll<number>().as("edges"))
      .where("child_id", "=", id).where("satisfied", "=", 0),
    cancelled_by: null,
  })).where("id", "=", id).execute();
  await trx.updateTable("sitq_tasks")
    .set({ status: sql.lit<TaskStatus>("waiting") })
    .where("id", "=", id).where("pending_parents", ">", 0).execute();
  await runProgram(dependents.restore(id), trx);
  return { changed: true, row: await selectTask(trx, id) };
}
