/**
 * From an enqueue call to the rows the backend inserts: the run options
 * checked and merged over the task's defaults, the run time computed, each
 * argument list serialized. Nothing is written here, so a bad argument in a
 * bulk enqueue leaves the database untouched. Unique keys are shaped here
 * too (a key per argument list when `uniqueKey` is a function); later
 * enqueue features (dependencies) will be. Then the rows go to the backend
 * ({@linkcode queueInserts}), in the queue's transaction or the caller's.
 *
 * @module
 */
import { DEFAULT_QUEUE } from "../core/queue_names.ts";
import type { TaskDeclaration } from "../core/declaration.ts";
import { serializeOrThrow, type Serializer } from "../core/serializer.ts";
import { checkRunOptions, type RunOptions, type Task } from "../core/task.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { Clock } from "../core/types.ts";
import { checkUniqueKey } from "../core/unique_keys.ts";
import type { Backend, NewTaskRow } from "../storage/backend.ts";
import {
  type EnqueueManyOptions,
  requireUniqueKey,
  toUniqueResults,
  type UniqueEnqueueResult,
} from "./unique.ts";

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

/** The unique-key fields of every row, or of none, from the run options. */
type KeyFields = (args: unknown[], index: number) => Pick<
  NewTaskRow,
  "uniqueKey" | "uniqueFor" | "onDuplicate"
>;

/**
 * How each row gets its key, its window and its mode from `runOptions`,
 * or undefined when the runs have no key.
 *
 * @throws {TypeError} If `uniqueFor` or `onDuplicate` is given without a
 * `uniqueKey`.
 */
function keyFields(
  name: string,
  runOptions: EnqueueManyOptions | undefined,
): KeyFields | undefined {
  const { uniqueKey, uniqueFor, onDuplicate } = runOptions ?? {};
  if (uniqueKey === undefined) {
    const stray = uniqueFor !== undefined
      ? "uniqueFor"
      : onDuplicate !== undefined
      ? "onDuplicate"
      : undefined;
    if (stray === undefined) return undefined;
    throw new TypeError(
      `Cannot enqueue task "${name}" as '${stray}' needs a 'uniqueKey' to apply to: give one with task.with({ uniqueKey: "..." })`,
    );
  }
  // A window of 0 ms ends as the task completes: no window.
  const window = uniqueFor === undefined || uniqueFor === 0 ? null : uniqueFor;
  const mode = onDuplicate ?? "keep";
  if (typeof uniqueKey !== "function") {
    return () => ({ uniqueKey, uniqueFor: window, onDuplicate: mode });
  }
  return (args, index) => {
    const key = uniqueKey(...args);
    checkUniqueKey(
      key,
      `enqueue task "${name}"`,
      `uniqueKey(...argument list ${index})`,
    );
    return { uniqueKey: key, uniqueFor: window, onDuplicate: mode };
  };
}

/**
 * The rows for enqueueing `task` once per argument list, in order. Per-run
 * options (`runOptions`) override the task's defaults; without either, a run
 * has priority 0, 3 attempts, no timeout, and is due now. A `uniqueKey`
 * function is called once per argument list, before anything is written.
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
  runOptions: RunOptions | EnqueueManyOptions | undefined,
  context: EnqueueContext,
): NewTaskRow[] {
  const { name } = task;
  checkRunOptions(runOptions, name);
  const keys = keyFields(name, runOptions as EnqueueManyOptions | undefined);
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
    queue: runOptions?.queue ?? defaults.queue ?? DEFAULT_QUEUE,
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
    const newRow: NewTaskRow = {
      name: row.name,
      args: serialized,
      priority: row.priority,
      runAt: row.runAt,
      maxAttempts: row.maxAttempts,
      timeout: row.timeout,
      createdAt: row.createdAt,
      queue: row.queue,
    };
    // Rows without a key keep the plain insert's shape.
    return keys === undefined ? newRow : { ...newRow, ...keys(args, index) };
  });
}

/** A task or declaration as the queue's insert paths take it. */
type AnyDeclaration =
  | TaskDeclaration<never, unknown>
  | TaskDeclaration<unknown[], unknown>;

/**
 * How a queue inserts, in its own transaction or (given one) the caller's:
 * `ids` for `enqueue`/`enqueueMany`, `unique` for the methods that report
 * on unique keys (`method` names the one called, for messages).
 */
export interface QueueInserts {
  /** What the inserts were made from (for workflows, `workflow.ts`). */
  readonly context: InsertContext;
  /** Inserts; returns the id of each run's task (or key holder). */
  ids(
    task: AnyDeclaration,
    argsList: readonly unknown[][],
    runOptions: RunOptions | undefined,
    transaction?: DatabaseTransaction,
  ): Promise<number[]>;
  /** Inserts runs with unique keys; returns what became of each. */
  unique<Result>(
    task: AnyDeclaration,
    argsList: readonly unknown[][],
    runOptions: RunOptions | undefined,
    method: string,
    transaction?: DatabaseTransaction,
  ): Promise<UniqueEnqueueResult<Result>[]>;
}

/** What {@linkcode queueInserts} needs of its queue. */
export interface InsertContext extends EnqueueContext {
  /** Where the rows go. */
  readonly backend: Backend;
  /** Throws unless `task` is registered on the queue. */
  checkRegistered(task: AnyDeclaration): void;
}

/**
 * The queue's two insert paths, for `TaskQueue` and its transactional
 * views: rows from the run options, then the backend's insert, which
 * returns ids, or outcomes that become {@linkcode UniqueEnqueueResult}s.
 */
export function queueInserts(queue: InsertContext): QueueInserts {
  return {
    context: queue,
    ids(task, argsList, runOptions, transaction) {
      queue.checkRegistered(task);
      const rows = newTaskRows(task, argsList, runOptions, queue);
      return transaction === undefined
        ? queue.backend.insertTasks(rows)
        : queue.backend.insertTasks(rows, { transaction });
    },
    async unique<Result>(
      task: AnyDeclaration,
      argsList: readonly unknown[][],
      runOptions: RunOptions | undefined,
      method: string,
      transaction?: DatabaseTransaction,
    ): Promise<UniqueEnqueueResult<Result>[]> {
      queue.checkRegistered(task);
      requireUniqueKey(task, runOptions, method);
      const rows = newTaskRows(task, argsList, runOptions, queue);
      const outcomes = await queue.backend.insertTasks(
        rows,
        transaction === undefined
          ? { outcomes: true }
          : { transaction, outcomes: true },
      );
      return toUniqueResults<Result>(rows, outcomes);
    },
  };
}
