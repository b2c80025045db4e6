/**
 * The public shapes of recurring schedules ({@linkcode ScheduleOptions},
 * {@linkcode ScheduleInfo}) and the checks of what `queue.schedules.set`
 * is given, each failure a typed error whose message names the option.
 *
 * @module
 */
import type { TaskDeclaration } from "../core/declaration.ts";
import type { Task } from "../core/task.ts";
import {
  checkInteger,
  checkOptions,
  checkWellFormed,
  optionKeys,
  show,
} from "../core/validate.ts";
import { type CatchUp, MAX_CATCH_UP } from "./due_slots.ts";
import {
  checkTimezone,
  cronRecurrence,
  MIN_EVERY_MS,
  type Recurrence,
  recurrenceOf,
} from "./recurrence.ts";

export type { CatchUp };

/**
 * A recurring schedule: which task to enqueue with which arguments, and
 * when. Give exactly one of `cron` and `every`.
 *
 * @typeParam Args The task's argument list.
 *
 * @example Every night at 02:30, Berlin time
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const report = queue.task("report", (kind: string) => kind);
 * await queue.schedules.set("nightly-report", {
 *   task: report,
 *   args: ["daily"],
 *   cron: "30 2 * * *",
 *   timezone: "Europe/Berlin",
 * });
 * await queue.close();
 * ```
 */
export interface ScheduleOptions<Args extends unknown[] = unknown[]> {
  /** The task (or its declaration) each slot enqueues. */
  task: Task<Args> | TaskDeclaration<Args>;
  /** The arguments of every run, stored with the schedule. */
  args: Args;
  /**
   * A cron expression: five fields (minute hour day-of-month month
   * day-of-week) or six (a second first), in `timezone`. Not with `every`.
   */
  cron?: string;
  /**
   * An interval in ms (an integer >= 100), its slots aligned on the epoch
   * (`60_000`: on whole minutes, UTC). Not with `cron`.
   */
  every?: number;
  /**
   * The IANA time zone `cron` is read in.
   *
   * @default {"UTC"}
   */
  timezone?: string;
  /**
   * What to do with the slots missed while no worker ran (slots more than
   * 10 s late): `"skip"` them (the next future slot is the next run),
   * run `"once"` for all of them, or run each of the newest `max` (1 to
   * 1000).
   *
   * @default {"skip"}
   */
  catchUp?: CatchUp;
  /**
   * The queue its tasks go to.
   *
   * @default {"default"}
   */
  queue?: string;
  /** The runs' priority (default: the task's). */
  priority?: number;
  /** The runs' total attempts (default: the task's). */
  maxAttempts?: number;
  /**
   * Whether the schedule is paused. Left out, `set` keeps the state the
   * schedule has (a new one is active).
   */
  paused?: boolean;
}

/** A stored schedule, as `queue.schedules.list()` and `get()` return it. */
export interface ScheduleInfo {
  /** Its name. */
  name: string;
  /** The task each slot enqueues. */
  taskName: string;
  /** The queue its tasks go to. */
  queue: string;
  /** Its cron expression, or null for an interval. */
  cron: string | null;
  /** Its interval in ms, or null for a cron expression. */
  every: number | null;
  /** The time zone of its cron expression. */
  timezone: string;
  /** Its catch-up policy. */
  catchUp: CatchUp;
  /** Whether it is paused. */
  paused: boolean;
  /** Its next slot; null while paused, or when it has none. */
  nextRunAt: Date | null;
  /** The newest slot fired (or skipped); null before the first. */
  lastSlotAt: Date | null;
  /** When it was first set. */
  createdAt: Date;
  /** When its options last changed. */
  updatedAt: Date;
}

const SCHEDULE_OPTION_KEYS = optionKeys<ScheduleOptions>({
  task: true,
  args: true,
  cron: true,
  every: true,
  timezone: true,
  catchUp: true,
  queue: true,
  priority: true,
  maxAttempts: true,
  paused: true,
});

/** The longest schedule (and queue) name. */
export const SCHEDULE_NAME_LIMIT = 128;

/** Throws unless `name` can name a schedule: 1 to 128 characters. */
export function checkScheduleName(name: unknown, action: string): void {
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot ${action} as 'name' must be a string: current value is ${
        show(name)
      }`,
    );
  }
  if (name.length === 0 || name.length > SCHEDULE_NAME_LIMIT) {
    throw new RangeError(
      `Cannot ${action} as 'name' must be 1 to ${SCHEDULE_NAME_LIMIT} characters: current value is ${
        name.length === 0 ? '""' : `${name.length} characters long`
      }`,
    );
  }
  checkWellFormed(name, action, "name");
}

/** Throws unless `value` is a {@linkcode CatchUp}. */
function checkCatchUp(value: unknown, action: string): void {
  if (value === "skip" || value === "once") return;
  if (
    typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.keys(value).length === 1 && "max" in value
  ) {
    checkInteger(value.max, action, "catchUp.max", 1);
    if ((value.max as number) > MAX_CATCH_UP) {
      throw new RangeError(
        `Cannot ${action} as 'catchUp.max' must be at most ${MAX_CATCH_UP}: current value is ${value.max}`,
      );
    }
    return;
  }
  throw new (typeof value === "string" ? RangeError : TypeError)(
    `Cannot ${action} as 'catchUp' must be "skip", "once" or { max: n }: current value is ${
      typeof value === "object" ? JSON.stringify(value) : show(value)
    }`,
  );
}

/**
 * Checks the options of `set(name, options)` and returns the schedule's
 * recurrence.
 *
 * @throws {TypeError} For an unknown option, a missing `task` or `args`,
 * both or neither of `cron` and `every`, or a value of the wrong type.
 * @throws {InvalidCronError} For a cron expression that does not parse
 * (naming the field) or never fires.
 * @throws {RangeError} For an unknown time zone, an `every` under 100 ms,
 * a bad `catchUp`, or a name out of bounds.
 */
export function checkScheduleOptions(
  name: unknown,
  options: unknown,
  action: string,
): Recurrence {
  checkScheduleName(name, action);
  if (options === undefined) {
    throw new TypeError(
      `Cannot ${action} as its options are missing: give { task, args, cron } or { task, args, every }`,
    );
  }
  checkOptions(options, SCHEDULE_OPTION_KEYS, action);
  const given = options as ScheduleOptions;
  const task = given.task as { name?: unknown } | undefined;
  if (
    typeof task !== "object" || task === null || typeof task.name !== "string"
  ) {
    throw new TypeError(
      `Cannot ${action} as 'task' must be a task or a task declaration: current value is ${
        show(given.task)
      }`,
    );
  }
  if (!Array.isArray(given.args)) {
    throw new TypeError(
      `Cannot ${action} as 'args' must be the task's argument list (an array): current value is ${
        show(given.args)
      }`,
    );
  }
  if ((given.cron === undefined) === (given.every === undefined)) {
    throw new TypeError(
      `Cannot ${action} as it needs exactly one of 'cron' and 'every': ${
        given.cron === undefined ? "neither" : "both"
      } given`,
    );
  }
  const timezone = given.timezone ?? "UTC";
  checkTimezone(timezone, action);
  if (given.every !== undefined) {
    checkInteger(given.every, action, "every", MIN_EVERY_MS);
    if (given.timezone !== undefined) {
      throw new TypeError(
        `Cannot ${action} as 'timezone' applies to 'cron' only; 'every' slots are aligned on the epoch`,
      );
    }
  }
  if (given.catchUp !== undefined) checkCatchUp(given.catchUp, action);
  if (given.queue !== undefined) checkQueueName(given.queue, action);
  if (given.priority !== undefined) {
    checkInteger(given.priority, action, "priority", Number.MIN_SAFE_INTEGER);
  }
  if (given.maxAttempts !== undefined) {
    checkInteger(given.maxAttempts, action, "maxAttempts", 1);
  }
  if (given.paused !== undefined && typeof given.paused !== "boolean") {
    throw new TypeError(
      `Cannot ${action} as 'paused' must be a boolean: current value is ${
        show(given.paused)
      }`,
    );
  }
  if (given.cron !== undefined) {
    if (typeof given.cron !== "string") {
      throw new TypeError(
        `Cannot ${action} as 'cron' must be a string: current value is ${
          show(given.cron)
        }`,
      );
    }
    return cronRecurrence(given.cron, timezone);
  }
  return recurrenceOf({ cron: null, every: given.every!, timezone });
}

function checkQueueName(queue: unknown, action: string): void {
  if (typeof queue !== "string") {
    throw new TypeError(
      `Cannot ${action} as 'queue' must be a string: current value is ${
        show(queue)
      }`,
    );
  }
  if (queue.length === 0 || queue.length > SCHEDULE_NAME_LIMIT) {
    throw new RangeError(
      `Cannot ${action} as 'queue' must be 1 to ${SCHEDULE_NAME_LIMIT} characters: current value is ${
        JSON.stringify(queue)
      }`,
    );
  }
}

/** `catchUp` as stored: `"skip"`, `"once"` or `"max:<n>"`. */
export function encodeCatchUp(catchUp: CatchUp): string {
  return typeof catchUp === "string" ? catchUp : `max:${catchUp.max}`;
}

/** The stored form back to a {@linkcode CatchUp}. */
export function decodeCatchUp(stored: string): CatchUp {
  if (stored === "skip" || stored === "once") return stored;
  const max = Number(stored.slice(4));
  return stored.startsWith("max:") && Number.isSafeInteger(max) && max >= 1
    ? { max }
    : "skip";
}
