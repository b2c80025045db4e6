/**
 * Inspect: the reads behind `getTask`, `getTaskHistory`, `listTasks`,
 * `stats` and the unhandled-work report. None writes; none takes a guard
 * beyond its filters.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type { AttemptOutcome, TaskStatus } from "../../core/types.ts";
import type {
  AttemptRow,
  DueExceptQuery,
  ListQuery,
  NameCount,
  NameStatusCount,
  TaskRow,
} from "../backend.ts";
import { ATTEMPT_COLUMNS, QUEUED, type SitqSchema } from "../schema.ts";

/** One task by id, or undefined. */
export function selectTask(
  db: Kysely<SitqSchema>,
  id: number,
): Promise<TaskRow | undefined> {
  return db.selectFrom("sitq_tasks").selectAll().where("id", "=", id)
    .executeTakeFirst();
}

/**
 * A task's attempt history, oldest first: its `sitq_attempts` rows, then,
 * for a completed task, the completing attempt, read from the task's own
 * row (since schema v11 a completed attempt writes no history row: the
 * task row already holds its worker, start, end and outcome, and the row
 * cost a tenth of a no-op task's time). A completed row written before
 * v11 is kept and read as is, never twice: completion is final, so a
 * history that holds one holds the last attempt already.
 *
 * One statement, so both parts come from one snapshot.
 */
export function selectAttempts(
  db: Kysely<SitqSchema>,
  id: number,
): Promise<AttemptRow[]> {
  const history = db.selectFrom("sitq_attempts")
    .select([...ATTEMPT_COLUMNS, "id as seq"])
    .where("task_id", "=", id);
  const completing = db.selectFrom("sitq_tasks")
    .select((eb) => [
      "id as task_id",
      "attempts as attempt",
      eb.fn.coalesce("worker_id", eb.val("")).as("worker_id"),
      eb.fn.coalesce("started_at", "finished_at", sql.lit(0)).as("started_at"),
      eb.fn.coalesce("finished_at", sql.lit(0)).as("finished_at"),
      sql.lit<AttemptOutcome>("completed").as("outcome"),
      sql<string | null>`null`.as("error"),
      // After every history row, whatever its id.
      sql.lit<number>(Number.MAX_SAFE_INTEGER).as("seq"),
    ])
    .where("id", "=", id)
    .where("status", "=", sql.lit("completed"))
    .where(({ not, exists, selectFrom }) =>
      not(exists(
        selectFrom("sitq_attempts").select("sitq_attempts.id")
          .where("sitq_attempts.task_id", "=", id)
          .where("sitq_attempts.outcome", "=", sql.lit("completed")),
      ))
    );
  return db.selectFrom(history.unionAll(completing).as("h"))
    .select(ATTEMPT_COLUMNS).orderBy("seq").execute() as Promise<
      AttemptRow[]
    >;
}

/**
 * Tasks matching `query`, newest first: by statuses (a non-empty list), by
 * name, and below `beforeId` (the previous page's last id), at most
 * `limit`.
 */
export function listTasks(
  db: Kysely<SitqSchema>,
  query: ListQuery,
): Promise<TaskRow[]> {
  let select = db.selectFrom("sitq_tasks").selectAll();
  if (query.statuses !== undefined) {
    select = select.where("status", "in", query.statuses);
  }
  if (query.name !== undefined) {
    select = select.where("name", "=", query.name);
  }
  if (query.queue !== undefined) {
    select = select.where("queue", "=", query.queue);
  }
  if (query.beforeId !== undefined) {
    select = select.where("id", "<", query.beforeId);
  }
  return select.orderBy("id", "desc").limit(query.limit).execute();
}

/** The number of tasks per status; statuses with none are absent. */
export async function countByStatus(
  db: Kysely<SitqSchema>,
): Promise<Partial<Record<TaskStatus, number>>> {
  const rows = await db.selectFrom("sitq_tasks")
    .select(["status", (eb) => eb.fn.countAll<number>().as("count")])
    .groupBy("status").execute();
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}

/** The number of tasks per name and status, ordered by name. */
export async function countByName(
  db: Kysely<SitqSchema>,
): Promise<NameStatusCount[]> {
  const rows = await db.selectFrom("sitq_tasks")
    .select([
      "name",
      "status",
      (eb) => eb.fn.countAll<number>().as("count"),
    ])
    .groupBy(["name", "status"]).orderBy("name").execute();
  return rows.map((row) => ({
    name: row.name,
    status: row.status,
    count: Number(row.count),
  }));
}

/**
 * Queued tasks due by `query.now` whose name is not in `query.names`,
 * counted per name among the first `query.limit` found; ordered by name.
 */
export async function countDueExcept(
  db: Kysely<SitqSchema>,
  query: DueExceptQuery,
): Promise<NameCount[]> {
  // The literal status lets SQLite scan the claim's partial index; the
  // limit bounds the scan when another worker's backlog matches.
  let due = db.selectFrom("sitq_tasks").select("name")
    .where("status", "=", QUEUED).where("run_at", "<=", query.now);
  if (query.names.length > 0) {
    due = due.where("name", "not in", query.names);
  }
  const rows = await db.selectFrom(due.limit(query.limit).as("due"))
    .select(["due.name", (eb) => eb.fn.countAll<number>().as("count")])
    .groupBy("due.name").orderBy("due.name").execute();
  return rows.map((row) => ({ name: row.name, count: Number(row.count) }));
}
