/**
 * The storage-shaped rows of recurring schedules (schema v10), as the
 * {@linkcode Backend} methods for schedules speak them: times in epoch ms,
 * columns named as `sitq_schedules` names them. Re-exported by
 * `backend.ts`; unstable, like the rest of that interface.
 *
 * @module
 */
import type { InsertOutcome, NewTaskRow } from "./backend.ts";

/** A row of `sitq_schedules`; see `schedules_schema.ts`. */
export interface ScheduleRow {
  /** The schedule's name (the key). */
  name: string;
  /** The task each slot enqueues. */
  task_name: string;
  /** The serialized argument list of every run. */
  args: string;
  /** The queue its tasks go to. */
  queue: string;
  /** The runs' priority. */
  priority: number;
  /** The runs' total attempts. */
  max_attempts: number;
  /** The runs' per-attempt limit in ms, or null. */
  timeout_ms: number | null;
  /** The cron expression, or null for an interval. */
  cron: string | null;
  /** The interval in ms, or null for a cron expression. */
  every_ms: number | null;
  /** The cron expression's IANA time zone. */
  timezone: string;
  /** `"skip"`, `"once"` or `"max:<n>"`. */
  catch_up: string;
  /** The canonical text of the options it was set with. */
  definition: string;
  /** 1 while paused, else 0. */
  paused: number;
  /** Grows with every change of the options or the paused state. */
  revision: number;
  /** The first slot not fired yet; null while paused or when none is left. */
  next_run_at: number | null;
  /** The newest slot fired or skipped; null before the first. */
  last_slot: number | null;
  /** Epoch ms it was created. */
  created_at: number;
  /** Epoch ms its options or paused state last changed. */
  updated_at: number;
}

/**
 * What {@linkcode Backend.saveSchedule} writes: the row's columns but its
 * bookkeeping (revision, last slot, times), and `now`.
 */
export interface ScheduleWrite extends
  Omit<
    ScheduleRow,
    | "paused"
    | "revision"
    | "last_slot"
    | "created_at"
    | "updated_at"
    | "next_run_at"
  > {
  /** The paused state to set, or undefined to keep the stored one. */
  paused: boolean | undefined;
  /**
   * The first slot after `now`, used when the schedule is created, its
   * definition changes, or it is resumed.
   */
  next_run_at: number | null;
  /** Epoch ms of the call. */
  now: number;
}

/** What {@linkcode Backend.saveSchedule} did. */
export interface ScheduleSaved {
  /** The row after the call. */
  row: ScheduleRow;
  /** Whether the row was created, or changed; false: it was as given. */
  changed: boolean;
}

/**
 * One firing of a schedule ({@linkcode Backend.fireSchedule}): advance its
 * slot from `expectedNextRunAt` (compare-and-set, with `revision`) and
 * insert `tasks` in the same transaction.
 */
export interface ScheduleFiring {
  /** The schedule's name. */
  name: string;
  /** The revision the slots were computed from. */
  revision: number;
  /** The `next_run_at` the slots were computed from. */
  expectedNextRunAt: number;
  /** The new `next_run_at` (null: none ever). */
  nextRunAt: number | null;
  /** The new `last_slot`. */
  lastSlot: number;
  /** One task per slot fired, each with its slot's unique key. */
  tasks: readonly NewTaskRow[];
}

/**
 * What a firing did: undefined from {@linkcode Backend.fireSchedule} when
 * another process fired (or changed) the schedule first.
 */
export interface ScheduleFired {
  /** One outcome per task, in order. */
  outcomes: InsertOutcome[];
}
