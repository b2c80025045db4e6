/**
 * The tables sitq keeps, as Kysely sees them, and the status literals that
 * their partial indexes match.
 *
 * @module
 */
import { type Generated, type RawBuilder, sql } from "kysely";
import type { TaskStatus } from "../core/types.ts";
import type { AttemptRow, TaskRow } from "./backend.ts";
import type { QueuesTable, QueueStartsTable } from "./queues_schema.ts";
import type { EventsTable, SubscribersTable } from "./events_schema.ts";
import type { WorkersTable } from "./workers_schema.ts";
import type { SchedulesTable } from "./schedules_schema.ts";

/**
 * `sitq_tasks`: one row per enqueued task. The columns are those of
 * {@linkcode TaskRow}; the database generates `id` and defaults `attempts`.
 */
export interface TasksTable
  extends Omit<TaskRow, "id" | "attempts" | "pending_parents" | "queue"> {
  id: Generated<number>;
  queue: Generated<string>;
  attempts: Generated<number>;
  pending_parents: Generated<number>;
}

/**
 * `sitq_dependencies` (schema v6): one row per edge of a workflow, "child
 * waits for parent". `satisfied` is 1 once the edge no longer holds the
 * child back (the parent completed, or ended badly and the edge runs
 * anyway); a task's `pending_parents` counts its edges with 0.
 */
export interface DependenciesTable {
  child_id: number;
  parent_id: number;
  /** The parent's place in the child's list, from 0. */
  position: number;
  /** 1: the child runs even if the parent fails or is cancelled. */
  run_anyway: number;
  satisfied: number;
}

/**
 * `sitq_attempts`: one row per finished attempt (schema v2), except a
 * completed one (v11): its task row describes it (see `selectAttempts`).
 */
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
  sitq_dependencies: DependenciesTable;
  sitq_workers: WorkersTable;
  sitq_schedules: SchedulesTable;
  sitq_queues: QueuesTable;
  sitq_queue_starts: QueueStartsTable;
  sitq_subscribers: SubscribersTable;
  sitq_events: EventsTable;
}

/**
 * The columns of an attempt's history row, in the order the settle query
 * writes them and the attempt reads return them. Listed as the keys of a
 * record over {@linkcode AttemptRow}, so a column added to the row type and
 * not here is a compile error.
 */
export const ATTEMPT_COLUMNS: readonly (keyof AttemptRow)[] = Object.keys(
  {
    task_id: true,
    attempt: true,
    worker_id: true,
    started_at: true,
    finished_at: true,
    outcome: true,
    error: true,
  } satisfies Record<keyof AttemptRow, true>,
) as (keyof AttemptRow)[];

// The claim and lease indexes are partial (`where status = 'queued'`,
// `where status = 'running'`), and SQLite uses a partial index only for a
// query that names the same status as a literal, not as a bound parameter.
// So the index definitions and every query meant to use them spell these
// two statuses with these literals.

/** The status `queued` as an SQL literal (see above). */
export const QUEUED: RawBuilder<TaskStatus> = sql.lit<TaskStatus>("queued");
/** The status `waiting` as an SQL literal (see above). */
export const WAITING: RawBuilder<TaskStatus> = sql.lit<TaskStatus>("waiting");
/** The status `running` as an SQL literal (see above). */
export const RUNNING: RawBuilder<TaskStatus> = sql.lit<TaskStatus>("running");
