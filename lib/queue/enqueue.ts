/**
 * From an enqueue call to the rows the backend inserts: the run options
 * checked and merged over the task's defaults, the run time computed, each
 * argument list serialized. Nothing is written here, so a bad argument in a
 * bulk enqueue leaves the database untouched. Later enqueue features (unique
 * keys, dependencies) shape the rows here too.
 *
 * @module
 */
import { serializeOrThrow, type Serializer } from "../core/serializer.ts";
import { checkRunOptions, type RunOptions, type Task } from "../core/task.ts";
import type { Clock } from "../core/types.ts";
import type { NewTaskRow } from "../storage/backend.ts";

/** The latest time a `Date` can hold, in ms since the epoch. */
const MAX_DATE_MS = 8.64e15;

// A run's priority and attempts when neither the task nor the enqueue sets
// them (the defaults `TaskOptions` documents).
const DEFAULT_PRIORITY = 0;
const DEFAULT_MAX_ATTEMPTS = 3;

/** What turning arguments into rows needs from the queue. */
export interface EnqueueContext {
  /** Turns each argument list into text. */
  readonly serializer: Serializer;
  /** Gives the enqueue time, from which `delay` counts. */
  readonly clock: Clock;
}

/**
 * Throws unless `argsList`, given to `enqueueMany`, is an array (of
 * argument lists: each is checked as its row is made).
 *
 * @throws {TypeError} Naming the task and what was given instead.
 */
export function checkArgsList(
  task: { readonly name?: string } | undefined,
  argsList: unknown,
): void {
  if (!Array.isArray(argsList)) {
    throw new TypeError(
      `Cannot enqueue task "${task?.name}" as 'argsList' must be an array of argument lists: current value is ${typeof argsList}`,
    );
  }
}

/**
 * The rows for enqueueing `task` once per argument list, in order. Per-run
 * options (`runOptions`) override the task's defaults; without either, a run
 * has priority 0, 3 attempts, no timeout, and is due now.
 *
 * @param task A registered task (its name and defaults are read).
 * @param argsList One argument list per run.
 * @param runOptions Options for every run, already merged over `task.with`.
 * @param context The serializer and the clock.
 * @returns One row per argument list.
 * @throws {TypeError | RangeError} If a run option is invalid, the run time
 * would be past the latest `Date`, or an argument list is not an array.
 * @throws {SerializationError} If an argument cannot be stored.
 */
export function newTaskRows(
  task: Pick<Task, "name" | "options">,
  argsList: readonly unknown[][],
  runOptions: RunOptions | undefined,
  context: EnqueueContext,
): NewTaskRow[] {
  const { name } = task;
  checkRunOptions(runOptions, name);
  const defaults = task.options;
  const now = context.clock.now();
  const runAt = runOptions?.runAt?.getTime() ??
    now + (runOptions?.delay ?? 0);
  if (runAt > MAX_DATE_MS) {
    // Past what a Date can hold, a run time would come back as an
    // Invalid Date, or not at all on drivers that refuse such integers.
    throw new RangeError(
      `Cannot enqueue task "${name}" as its run time would be after the latest date JavaScript can represent (${
        new Date(MAX_DATE_MS).toISOString()
      }); use a shorter 'delay'`,
    );
  }
  const row = {
    name,
    priority: runOptions?.priority ?? defaults.priority ?? DEFAULT_PRIORITY,
    runAt: Math.round(runAt),
    maxAttempts: runOptions?.maxAttempts ?? defaults.maxAttempts ??
      DEFAULT_MAX_ATTEMPTS,
    timeout: runOptions?.timeout ?? defaults.timeout ?? null,
    createdAt: now,
  };
  return argsList.map((args, index) => {
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot enqueue task "${name}" as argument list ${index} is not an array: current value is ${typeof args}`,
      );
    }
    const serialized = serializeOrThrow(
      context.serializer,
      args,
      () =>
        argsList.length === 1
          ? `the arguments of task "${name}"`
          : `the arguments of task "${name}" (list ${index})`,
    );
    // Spelled out, not spread: this runs per task of a bulk enqueue.
    return {
      name: row.name,
      args: serialized,
      priority: row.priority,
      runAt: row.runAt,
      maxAttempts: row.maxAttempts,
      timeout: row.timeout,
      createdAt: row.createdAt,
    };
  });
}
