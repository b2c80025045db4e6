/**
 * Schema version 10, recurring schedules, written once for both
 * databases: each database's migration list calls
 * {@linkcode migrateSchedules} with its integer type for times.
 *
 * `sitq_schedules` holds one row per schedule, by name. Its task columns
 * (`task_name`, `args` serialized, `queue`, `priority`, `max_attempts`,
 * `timeout_ms`) are what each slot's task is inserted with; `definition`
 * is the canonical text of the options it was set with, so a `set` with
 * the same options changes nothing. `next_run_at` is the first slot not
 * fired yet (null while paused), `last_slot` the newest slot dealt with.
 * `revision` grows with every change of the options or the paused state:
 * a firing advances `next_run_at` only where both the revision and the
 * slot it read still hold (compare-and-set), so two processes that
 * computed the same slot do not both fire it.
 *
 * Frozen once released, like every migration.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { ScheduleRow } from "./backend.ts";
import type { SitqSchema } from "./schema.ts";

/** `sitq_schedules` (schema v10), as {@linkcode ScheduleRow} has it. */
export type SchedulesTable = ScheduleRow;

/**
 * Creates `sitq_schedules` (no index but its key: the scheduler reads the
 * few rows whole).
 *
 * @param db The migration's transaction.
 * @param timeType The type of the database's epoch-ms columns (`integer`
 *   on SQLite, `bigint` on PostgreSQL).
 */
export async function migrateSchedules(
  db: Kysely<SitqSchema>,
  timeType: "integer" | "bigint",
): Promise<void> {
  await db.schema.createTable("sitq_schedules")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("task_name", "text", (c) => c.notNull())
    .addColumn("args", "text", (c) => c.notNull())
    .addColumn("queue", "text", (c) => c.notNull().defaultTo("default"))
    .addColumn("priority", timeType, (c) => c.notNull())
    .addColumn("max_attempts", timeType, (c) => c.notNull())
    .addColumn("timeout_ms", timeType)
    .addColumn("cron", "text")
    .addColumn("every_ms", timeType)
    .addColumn("timezone", "text", (c) => c.notNull())
    .addColumn("catch_up", "text", (c) => c.notNull())
    .addColumn("definition", "text", (c) => c.notNull())
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("revision", timeType, (c) => c.notNull())
    .addColumn("next_run_at", timeType)
    .addColumn("last_slot", timeType)
    .addColumn("created_at", timeType, (c) => c.notNull())
    .addColumn("updated_at", timeType, (c) => c.notNull())
    .execute();
}
