/**
 * Recurring schedules (schema v10, `schedules_schema.ts`): saving one by
 * name (idempotent), reading, pausing, removing, and the compare-and-set
 * that lets exactly one firing advance a schedule's slot. The tasks of a
 * firing are inserted by the caller in the same transaction, through the
 * keyed insert (`insert_keyed.ts`), each with its slot's unique key.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type {
  ScheduleFiring,
  ScheduleRow,
  ScheduleSaved,
  ScheduleWrite,
} from "../schedule_rows.ts";
import type { SitqSchema } from "../schema.ts";

const INTEGER_COLUMNS = [
  "priority",
  "max_attempts",
  "timeout_ms",
  "every_ms",
  "paused",
  "revision",
  "next_run_at",
  "last_slot",
  "created_at",
  "updated_at",
] as const;

/**
 * A row as the driver returned it, its integer columns as numbers
 * (PostgreSQL's `int8` may come as text where no parser ran).
 */
function toRow(raw: ScheduleRow): ScheduleRow {
  const row = { ...raw };
  for (const column of INTEGER_COLUMNS) {
    const value = row[column];
    if (value !== null) {
      (row as Record<string, unknown>)[column] = Number(value);
    }
  }
  return row;
}

/** Every schedule, ordered by name. */
export async function listSchedules(
  db: Kysely<SitqSchema>,
): Promise<ScheduleRow[]> {
  const rows = await db.selectFrom("sitq_schedules").selectAll()
    .orderBy("name").execute();
  return rows.map(toRow);
}

/** Schedule `name`, or undefined. */
export async function getSchedule(
  db: Kysely<SitqSchema>,
  name: string,
): Promise<ScheduleRow | undefined> {
  const row = await db.selectFrom("sitq_schedules").selectAll()
    .where("name", "=", name).executeTakeFirst();
  return row === undefined ? undefined : toRow(row);
}

/**
 * Creates or updates schedule `write.name` (see `Backend.saveSchedule`).
 * Runs in the caller's write transaction: on PostgreSQL the insert that
 * meets an existing key waits for its writer, so concurrent first saves
 * end with one row.
 */
export async function saveSchedule(
  trx: Kysely<SitqSchema>,
  write: ScheduleWrite,
): Promise<ScheduleSaved> {
  const { now, paused, ...columns } = write;
  const inserted = await trx.insertInto("sitq_schedules").values({
    ...columns,
    next_run_at: paused === true ? null : columns.next_run_at,
    paused: paused === true ? 1 : 0,
    revision: 1,
    last_slot: null,
    created_at: now,
    updated_at: now,
  }).onConflict((c) => c.column("name").doNothing())
    .returningAll().executeTakeFirst();
  if (inserted !== undefined) return { row: toRow(inserted), changed: true };
  const stored = (await getSchedule(trx, write.name))!;
  const sameDefinition = stored.definition === write.definition;
  const wasPaused = stored.paused === 1;
  const nowPaused = paused ?? wasPaused;
  if (sameDefinition && nowPaused === wasPaused) {
    return { row: stored, changed: false };
  }
  // A new definition starts from its next slot after now; so does a
  // resume (the slots of a pause are not caught up).
  const nextRunAt = nowPaused
    ? null
    : sameDefinition && !wasPaused
    ? stored.next_run_at
    : columns.next_run_at;
  const updated = await trx.updateTable("sitq_schedules").set({
    ...columns,
    paused: nowPaused ? 1 : 0,
    next_run_at: nextRunAt,
    revision: stored.revision + 1,
    updated_at: now,
  }).where("name", "=", write.name).returningAll().executeTakeFirstOrThrow();
  return { row: toRow(updated), changed: true };
}

/** Pauses or resumes schedule `name`; see `Backend.pauseSchedule`. */
export async function pauseSchedule(
  trx: Kysely<SitqSchema>,
  name: string,
  paused: boolean,
  nextRunAt: number | null,
  now: number,
): Promise<{ row: ScheduleRow | undefined; changed: boolean }> {
  const stored = await getSchedule(trx, name);
  if (stored === undefined || (stored.paused === 1) === paused) {
    return { row: stored, changed: false };
  }
  const updated = await trx.updateTable("sitq_schedules").set({
    paused: paused ? 1 : 0,
    next_run_at: paused ? null : nextRunAt,
    revision: stored.revision + 1,
    updated_at: now,
  }).where("name", "=", name).returningAll().executeTakeFirstOrThrow();
  return { row: toRow(updated), changed: true };
}

/** Deletes schedule `name`; false when there was none. */
export async function removeSchedule(
  trx: Kysely<SitqSchema>,
  name: string,
): Promise<boolean> {
  const result = await trx.deleteFrom("sitq_schedules")
    .where("name", "=", name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * The compare-and-set of a firing: moves the schedule's slot on only if
 * it is still where the firing read it (same revision, same next slot,
 * not paused). On PostgreSQL a second transaction updating the same row
 * waits for the first, then finds the slot moved and updates nothing.
 *
 * @returns Whether this firing won.
 */
export async function advanceSchedule(
  trx: Kysely<SitqSchema>,
  firing: ScheduleFiring,
): Promise<boolean> {
  const result = await trx.updateTable("sitq_schedules").set({
    next_run_at: firing.nextRunAt,
    last_slot: firing.lastSlot,
  })
    .where("name", "=", firing.name)
    .where("revision", "=", firing.revision)
    .where("next_run_at", "=", firing.expectedNextRunAt)
    .where("paused", "=", 0)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
