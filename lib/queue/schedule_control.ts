/**
 * `queue.schedules`: recurring schedules stored in the database, set by
 * name from any process (idempotent), listed, paused, resumed and
 * removed. Workers fire them (`lib/worker/scheduler.ts`); this module only
 * writes and reads them.
 *
 * @module
 */
import type { Serializer } from "../core/serializer.ts";
import type { Clock } from "../core/types.ts";
import { newTaskRows } from "./enqueue.ts";
import {
  checkScheduleName,
  checkScheduleOptions,
  decodeCatchUp,
  encodeCatchUp,
  type ScheduleInfo,
  type ScheduleOptions,
} from "../schedule/options.ts";
import { recurrenceOf } from "../schedule/recurrence.ts";
import type { Backend, ScheduleRow } from "../storage/backend.ts";

/** The stored row as a {@linkcode ScheduleInfo}. */
export function toScheduleInfo(row: ScheduleRow): ScheduleInfo {
  return {
    name: row.name,
    taskName: row.task_name,
    queue: row.queue,
    cron: row.cron,
    every: row.every_ms,
    timezone: row.timezone,
    catchUp: decodeCatchUp(row.catch_up),
    paused: row.paused === 1,
    nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
    lastSlotAt: row.last_slot === null ? null : new Date(row.last_slot),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** What a {@linkcode ScheduleControl} works with: the queue's own. */
export interface ScheduleContext {
  /** Where schedules are stored. */
  readonly backend: Backend;
  /** How the schedule's arguments are stored. */
  readonly serializer: Serializer;
  /** "Now", from which the next slot is computed. */
  readonly clock: Clock;
}

/**
 * Recurring schedules, stored in the database: `queue.schedules` on a
 * `TaskQueue` or a `QueueAdmin`. Workers (any process, `schedules: true`
 * by default) enqueue one task per due slot, exactly one however many
 * workers run, keyed `schedule:<name>:<slot epoch ms>` (see
 * {@linkcode ScheduleOptions} for the catch-up of missed slots).
 *
 * @example Declare at start-up, in every process
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const cleanup = queue.task("cleanup", (days: number) => days);
 * const info = await queue.schedules.set("cleanup", {
 *   task: cleanup,
 *   args: [30],
 *   every: 3_600_000,
 * });
 * console.log(info.nextRunAt instanceof Date); // true
 * await queue.schedules.pause("cleanup");
 * console.log((await queue.schedules.get("cleanup"))?.paused); // true
 * await queue.close();
 * ```
 */
export class ScheduleControl {
  readonly #context: ScheduleContext;

  /**
   * Made by the queue (`queue.schedules`); construct one yourself only to
   * manage schedules over a backend without a queue.
   *
   * @param context The queue's backend, serializer and clock.
   */
  constructor(context: ScheduleContext) {
    this.#context = context;
  }

  /**
   * Creates schedule `name`, or updates it. Idempotent: many processes may
   * call it at start-up with the same options, and nothing changes (no
   * slot is fired twice). Changed options update it and its next slot is
   * computed again from now; `paused`, when given, pauses or resumes it.
   * The arguments are serialized now, with the queue's serializer.
   *
   * @typeParam Args The task's argument list.
   * @param name The schedule's name, 1 to 128 characters.
   * @param options The task, its arguments, and `cron` or `every`.
   * @returns The schedule as stored.
   * @throws {InvalidCronError} For a cron expression that does not parse
   * (the message names the field and shows the expression) or never fires.
   * @throws {TypeError} For both or neither of `cron` and `every`, an
   * unknown option or a value of the wrong type.
   * @throws {RangeError} For an unknown time zone, a bad `catchUp`, an
   * `every` under 100 ms.
   * @throws {SerializationError} If an argument cannot be stored.
   */
  async set<Args extends unknown[]>(
    name: string,
    options: ScheduleOptions<Args>,
  ): Promise<ScheduleInfo> {
    const action = `set schedule ${JSON.stringify(name)}`;
    const recurrence = checkScheduleOptions(name, options, action);
    const { backend, clock } = this.#context;
    const task = options.task;
    const given = task.runOptions ?? {};
    const runOptions = Object.fromEntries(
      Object.entries({
        priority: options.priority ?? given.priority,
        maxAttempts: options.maxAttempts ?? given.maxAttempts,
        timeout: given.timeout,
      }).filter(([, value]) => value !== undefined),
    );
    const [row] = newTaskRows(task, [options.args], runOptions, this.#context);
    const queue = options.queue ??
      (given as { queue?: string }).queue ??
      (task.options as { queue?: string }).queue ??
      "default";
    const catchUp = encodeCatchUp(options.catchUp ?? "skip");
    const timezone = options.timezone ?? "UTC";
    const cron = options.cron ?? null;
    const every = options.every ?? null;
    const definition = JSON.stringify([
      row!.name,
      row!.args,
      queue,
      row!.priority,
      row!.maxAttempts,
      row!.timeout,
      cron,
      every,
      timezone,
      catchUp,
    ]);
    const now = clock.now();
    const saved = await backend.saveSchedule({
      name,
      task_name: row!.name,
      args: row!.args,
      queue,
      priority: row!.priority,
      max_attempts: row!.maxAttempts,
      timeout_ms: row!.timeout,
      cron,
      every_ms: every,
      timezone,
      catch_up: catchUp,
      definition,
      paused: options.paused,
      next_run_at: recurrence.next(now),
      now,
    });
    return toScheduleInfo(saved.row);
  }

  /**
   * Every schedule, ordered by name.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * for (const schedule of await queue.schedules.list()) {
   *   console.log(schedule.name, schedule.nextRunAt);
   * }
   * await queue.close();
   * ```
   */
  async list(): Promise<ScheduleInfo[]> {
    return (await this.#context.backend.listSchedules()).map(toScheduleInfo);
  }

  /**
   * Schedule `name`, or undefined when there is none.
   *
   * @throws {TypeError | RangeError} If `name` is not a schedule name.
   */
  async get(name: string): Promise<ScheduleInfo | undefined> {
    checkScheduleName(name, "get a schedule");
    const row = await this.#context.backend.getSchedule(name);
    return row === undefined ? undefined : toScheduleInfo(row);
  }

  /**
   * Pauses schedule `name`, from any process: workers fire nothing for it
   * until it is resumed (its slots meanwhile are not caught up). Pausing a
   * paused schedule does nothing.
   *
   * @throws {RangeError} If there is no schedule of that name.
   */
  async pause(name: string): Promise<void> {
    const action = `pause schedule ${JSON.stringify(name)}`;
    checkScheduleName(name, action);
    const { backend, clock } = this.#context;
    const row = await backend.pauseSchedule(name, true, null, clock.now());
    if (row === undefined) throw notFound(action);
  }

  /**
   * Resumes schedule `name`: its next slot is the first after now.
   * Resuming an active schedule does nothing.
   *
   * @throws {RangeError} If there is no schedule of that name.
   */
  async resume(name: string): Promise<void> {
    const action = `resume schedule ${JSON.stringify(name)}`;
    checkScheduleName(name, action);
    const { backend, clock } = this.#context;
    const stored = await backend.getSchedule(name);
    if (stored === undefined) throw notFound(action);
    const now = clock.now();
    const next = recurrenceOf({
      cron: stored.cron,
      every: stored.every_ms,
      timezone: stored.timezone,
    }).next(now);
    const row = await backend.pauseSchedule(name, false, next, now);
    if (row === undefined) throw notFound(action);
  }

  /**
   * Deletes schedule `name`; tasks it already enqueued stay.
   *
   * @returns Whether there was such a schedule.
   */
  async remove(name: string): Promise<boolean> {
    checkScheduleName(name, `remove schedule ${JSON.stringify(name)}`);
    return await this.#context.backend.removeSchedule(name);
  }
}

function notFound(action: string): RangeError {
  return new RangeError(`Cannot ${action} as no schedule has that name`);
}
