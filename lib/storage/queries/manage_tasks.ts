/**
 * Manage: the status changes a user asks for by id, and pruning.
 *
 * - Cancel. Parameters: the id, `now` (epoch ms). Guard: `status IN
 *   ('waiting', 'queued', 'running')`. A running task's lease is cleared in
 *   the same write, so its worker's settlement no longer matches the
 *   fencing token (it is `cancelled`, not `running`) and changes nothing;
 *   the worker learns of it from `cancelledAmong` (see
 *   `lib/worker/cancel_watch.ts`) and aborts the handler.
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
import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  sql,
  type SqlBool,
  type Updateable,
} from "kysely";
import type { FinalStatus, TaskStatus } from "../../core/types.ts";
import type { TaskFilterQuery, TransitionResult } from "../backend.ts";
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

/** The statuses a cancel applies to. */
export const CANCELLABLE: readonly TaskStatus[] = [
  "waiting",
  "queued",
  "running",
];

/** What a cancel writes, at `now`: the lease goes, fencing the worker out. */
const cancelled = (now: number): Updateable<TasksTable> => ({
  status: "cancelled",
  finished_at: now,
  lease_expires_at: null,
});

/**
 * Cancels a waiting, queued or running task (its dependents:
 * `release_dependents.ts`).
 */
export const cancelTask: Transition = transition(CANCELLABLE, cancelled);

/** The filter as a condition on `sitq_tasks`. */
export function whereFilter(
  filter: TaskFilterQuery,
): (eb: ExpressionBuilder<SitqSchema, "sitq_tasks">) => Expression<SqlBool> {
  return (eb) => {
    const conditions = [eb("status", "in", filter.statuses)];
    if (filter.ids !== undefined) conditions.push(eb("id", "in", filter.ids));
    if (filter.names !== undefined) {
      conditions.push(eb("name", "in", filter.names));
    }
    if (filter.queues !== undefined) {
      conditions.push(eb("queue", "in", filter.queues));
    }
    if (filter.createdBefore !== undefined) {
      conditions.push(eb("created_at", "<", filter.createdBefore));
    }
    if (filter.finishedBefore !== undefined) {
      conditions.push(eb("finished_at", "<", filter.finishedBefore));
    }
    if (filter.endedOrCreatedBefore !== undefined) {
      conditions.push(
        eb(
          eb.fn.coalesce("finished_at", "created_at"),
          "<",
          filter.endedOrCreatedBefore,
        ),
      );
    }
    return eb.and(conditions);
  };
}

/** The ids of the tasks `filter` selects, ascending. */
export async function selectFiltered(
  trx: Kysely<SitqSchema>,
  filter: TaskFilterQuery,
): Promise<number[]> {
  const rows = await trx.selectFrom("sitq_tasks").select("id")
    .where(whereFilter(filter)).orderBy("id").execute();
  return rows.map((row) => Number(row.id));
}

/**
 * Cancels the waiting, queued or running tasks among `ids`; returns the
 * ids it cancelled (their dependents: `release_dependents.ts`).
 */
export async function cancelIds(
  trx: Kysely<SitqSchema>,
  ids: readonly number[],
  now: number,
): Promise<number[]> {
  const done: number[] = [];
  // In slices, so that no statement has more parameters than a database
  // takes (SQLite: 32,766; PostgreSQL: 65,535).
  for (let start = 0; start < ids.length; start += 10_000) {
    const rows = await trx.updateTable("sitq_tasks").set(cancelled(now))
      .where("id", "in", ids.slice(start, start + 10_000))
      .where("status", "in", CANCELLABLE)
      .returning("id").execute();
    for (const row of rows) done.push(Number(row.id));
  }
  return done;
}

/**
 * The tasks among `ids` that are cancelled now: a worker checks its
 * running attempts with this after a change, one cheap read by primary key.
 */
export async function cancelledAmong(
  db: Kysely<SitqSchema>,
  ids: readonly number[],
): Promise<number[]> {
  const rows = await db.selectFrom("sitq_tasks").select("id")
    .where("id", "in", ids).where("status", "=", sql.lit("cancelled"))
    .execute();
  return rows.map((row) => Number(row.id));
}

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
export function pruneTasks(
  trx: Kysely<SitqSchema>,
  final: readonly FinalStatus[],
  before: number,
): Promise<number> {
  return deleteWhere(trx, { statuses: final, finishedBefore: before });
}

/**
 * Deletes the tasks `filter` selects, with their history and their
 * dependency edges either way round (schema v6); returns how many tasks.
 * Callers pass final statuses only: a task some unfinished task waits for
 * must not vanish under it.
 */
export async function deleteWhere(
  trx: Kysely<SitqSchema>,
  filter: TaskFilterQuery,
): Promise<number> {
  // Built on `trx`, so that PostgreSQL's schema qualifies the table.
  const selected = () =>
    trx.selectFrom("sitq_tasks").select("id").where(whereFilter(filter));
  await trx.deleteFrom("sitq_dependencies")
    .where((eb) =>
      eb.or([
        eb("child_id", "in", selected()),
        eb("parent_id", "in", selected()),
      ])
    )
    .execute();
  await trx.deleteFrom("sitq_attempts")
    .where("task_id", "in", selected())
    .execute();
  const result = await trx.deleteFrom("sitq_tasks")
    .where(whereFilter(filter))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
