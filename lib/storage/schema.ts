/**
 * The tables sitq keeps, as Kysely sees them.
 *
 * @module
 */
import type { Generated } from "kysely";
import type { AttemptRow, TaskRow } from "./backend.ts";

/**
 * `sitq_tasks`: one row per enqueued task. The columns are those of
 * {@linkcode TaskRow}; the database generates `id` and defaults `attempts`.
 */
export interface TasksTable extends Omit<TaskRow, "id" | "attempts"> {
  id: Generated<number>;
  attempts: Generated<number>;
}

/** `sitq_attempts`: one row per finished attempt (schema v2). */
export interface AttemptsTable extends AttemptRow {
  id: Generated<number>;
}

/** `sitq_meta`: key/value facts about the database, e.g. its schema version. */
export interface MetaTable {
  key: string;
  value: string;
}

/** Every table sitq owns. */
export interface SitqSchema {
  sitq_tasks: TasksTable;
  sitq_attempts: AttemptsTable;
  sitq_meta: MetaTable;
}
