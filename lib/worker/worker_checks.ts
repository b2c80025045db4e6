/**
 * What a `Worker` checks of what it is given, before it keeps any of it: the
 * options of `new Worker()`, `stop()` and `run()`, the shapes of the objects
 * it will call later (backend, serializer, clock, logger), and that the
 * names it stores (its id, its tasks' names) read back as given. A wrong
 * value would otherwise pass construction and fail later with an error that
 * blames something else, or inside a signal listener, where a throw crashes
 * the process instead of stopping the worker.
 *
 * Every message reads "Cannot <action> as '<option>' must be <rule>: current
 * value is <value>", naming the first bad option.
 *
 * @module
 */
import { checkQueueList } from "../core/queue_names.ts";
import { isTaskDeclaration } from "../core/declaration.ts";
import { checkTaskName } from "../core/task.ts";
import {
  checkInteger,
  checkOptions,
  checkTimerDuration,
  checkWellFormed,
  optionKeys,
} from "../core/validate.ts";
import {
  checkAbortSignal,
  checkSharedInputs,
  describeShape,
} from "../core/validate_shapes.ts";
import { checkBackend } from "../storage/check_backend.ts";
import { checkThreadOptions } from "./threads/options.ts";
import type { StopOptions, WorkerOptions, WorkerRunOptions } from "./types.ts";

/** The keys of {@linkcode WorkerOptions}, in the order messages list them. */
const WORKER_OPTION_KEYS = optionKeys<WorkerOptions>({
  tasks: true,
  concurrency: true,
  maxConcurrency: true,
  queues: true,
  pollInterval: true,
  workerId: true,
  leaseDuration: true,
  heartbeatInterval: true,
  shutdownTimeout: true,
  serializer: true,
  clock: true,
  logger: true,
  maxTasks: true,
  schedules: true,
  threads: true,
});

/** The keys of {@linkcode WorkerRunOptions}. */
const RUN_OPTION_KEYS = optionKeys<WorkerRunOptions>({
  timeout: true,
  duration: true,
  signal: true,
});

/** The keys of {@linkcode StopOptions}. */
const STOP_OPTION_KEYS = optionKeys<StopOptions>({ timeout: true });

/** The default of `leaseDuration`, which `heartbeatInterval` is checked against. */
export const DEFAULT_LEASE_DURATION = 30_000;

/**
 * The polling and lease durations with their minimums in ms, in the order
 * they are checked (each becomes a timer, so each must also fit one).
 */
const LEASE_TIMERS = [
  ["pollInterval", 1],
  ["leaseDuration", 10],
  ["heartbeatInterval", 1],
] as const;

/**
 * Checks everything `new Worker(backend, options)` was given, in the order a
 * user reads a message best: a backend that is not even an object first, then
 * the options (names, ranges), then the shapes of the backend and the
 * objects among the options, and the names that must read back exactly.
 *
 * @throws {TypeError | RangeError} Naming the first bad argument or option.
 */
export function checkWorkerArguments(
  backend: unknown,
  options: WorkerOptions,
): void {
  const action = "create Worker";
  if (typeof backend !== "object" || backend === null) {
    checkBackend(backend, action);
  }
  checkWorkerOptions(options, action);
  checkBackend(backend, action);
  checkSharedInputs(options, action);
  if (typeof options.workerId === "string") {
    checkWorkerId(options.workerId, action);
  }
  checkTaskNames(options.tasks, action);
}

/** The options' names and ranges; the shapes of objects come after. */
function checkWorkerOptions(options: WorkerOptions, action: string): void {
  checkOptions(options, WORKER_OPTION_KEYS, action);
  if (options === undefined) {
    throw new TypeError(
      `Cannot ${action} as options with 'tasks' are required`,
    );
  }
  checkTaskList(options.tasks, action, "'tasks'");
  if (
    options.concurrency !== undefined && options.maxConcurrency !== undefined &&
    options.concurrency !== options.maxConcurrency
  ) {
    throw new TypeError(
      `Cannot ${action} as 'concurrency' (${options.concurrency}) and its alias 'maxConcurrency' (${options.maxConcurrency}) disagree; pass one`,
    );
  }
  const concurrency = options.concurrency ?? options.maxConcurrency;
  if (concurrency !== undefined) {
    checkInteger(concurrency, action, "concurrency", 1);
  }
  if (options.maxTasks !== undefined) {
    checkInteger(options.maxTasks, action, "maxTasks", 1);
  }
  if (options.queues !== undefined) checkQueueList(options.queues, action);
  if (
    options.schedules !== undefined && typeof options.schedules !== "boolean"
  ) {
    throw new TypeError(
      `Cannot ${action} as 'schedules' must be a boolean: current value is ${
        String(options.schedules)
      }`,
    );
  }
  for (const [option, min] of LEASE_TIMERS) {
    const value = options[option];
    if (value !== undefined) checkTimerDuration(value, action, option, min);
  }
  const { heartbeatInterval, leaseDuration = DEFAULT_LEASE_DURATION } = options;
  if (heartbeatInterval !== undefined && heartbeatInterval >= leaseDuration) {
    throw new RangeError(
      `Cannot ${action} as 'heartbeatInterval' (${heartbeatInterval}) must be shorter than 'leaseDuration' (${leaseDuration}), or leases expire between renewals`,
    );
  }
  if (options.shutdownTimeout !== undefined) {
    checkTimerDuration(options.shutdownTimeout, action, "shutdownTimeout");
  }
  checkThreadOptions(options.threads, action);
  if (
    options.workerId !== undefined &&
    (typeof options.workerId !== "string" || options.workerId.trim() === "")
  ) {
    throw new TypeError(
      `Cannot ${action} as 'workerId' must be a non-empty string: current value is ${
        String(options.workerId)
      }`,
    );
  }
}

/**
 * Checks `run()`'s options up front: a bad one found later, inside a signal
 * listener, would crash the process instead of stopping the worker.
 *
 * @throws {TypeError | RangeError} Naming the first bad option.
 */
export function checkRunOptions(options: WorkerRunOptions): void {
  const action = "run worker";
  checkOptions(options, RUN_OPTION_KEYS, action);
  if (options === undefined) return;
  if (options.timeout !== undefined) {
    checkTimerDuration(options.timeout, action, "timeout");
  }
  if (options.duration !== undefined) {
    checkTimerDuration(options.duration, action, "duration");
  }
  if (options.signal !== undefined) {
    checkAbortSignal(options.signal, action, "signal");
  }
}

/**
 * Checks `stop()`'s options.
 *
 * @throws {TypeError | RangeError} If `timeout` is not a timer's duration.
 */
export function checkStopOptions(options: StopOptions): void {
  const action = "stop worker";
  checkOptions(options, STOP_OPTION_KEYS, action);
  if (options.timeout !== undefined) {
    checkTimerDuration(options.timeout, action, "timeout");
  }
}

/**
 * Throws a RangeError unless a worker id given by the user can be stored as
 * the lease owner and read back exactly: well-formed, without control
 * characters (a NUL ends the text for some drivers).
 */
function checkWorkerId(workerId: string, action: string): void {
  checkWellFormed(workerId, action, "workerId");
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(workerId)) {
    throw new RangeError(
      `Cannot ${action} as 'workerId' must not contain control characters: current value is ${
        JSON.stringify(workerId)
      }`,
    );
  }
}

/**
 * Checks the name of every task a worker is given, as `queue.task()` does:
 * a hand-made task object bypasses that check, and a name that cannot be
 * stored as given makes every task under it unclaimable.
 */
function checkTaskNames(tasks: readonly unknown[], action: string): void {
  for (const task of tasks) {
    const name = (task as { name?: unknown } | null | undefined)?.name;
    if (typeof name === "string") checkTaskName(name, action);
  }
}

/**
 * Throws a TypeError unless `tasks` is a non-empty list of tasks (a name and
 * a handler each). `subject` names the list in the message: `'tasks'` at
 * construction, `its 'tasks'` when a started worker reads its list again.
 */
function checkTaskList(tasks: unknown, action: string, subject: string): void {
  if (!Array.isArray(tasks) || tasks.length === 0) {
    throw new TypeError(
      `Cannot ${action} as ${subject} must be a non-empty array of tasks from queue.task(): current value is ${
        Array.isArray(tasks) ? "[]" : typeof tasks
      }`,
    );
  }
  for (const task of tasks as unknown[]) {
    const { name, handler } = (task ?? {}) as Record<string, unknown>;
    if (isTaskDeclaration(task)) {
      throw new TypeError(
        `Cannot ${action} as ${subject} holds the declaration of task "${task.name}", which has no handler: bind one with queue.task(declaration, handler) and pass the task it returns`,
      );
    }
    if (typeof name !== "string" || typeof handler !== "function") {
      throw new TypeError(
        `Cannot ${action} as every entry of ${subject} must be a task from queue.task(): found ${
          describeShape(task)
        }`,
      );
    }
  }
}

/**
 * Throws a TypeError unless `tasks` is still a non-empty list of tasks
 * (name and handler) with valid names. A worker reads its task list again
 * when it starts, and the list may have changed since it was built.
 *
 * @throws {TypeError | RangeError} Naming the first bad entry.
 */
export function checkWorkerTasks(tasks: unknown, action: string): void {
  checkTaskList(tasks, action, "its 'tasks'");
  checkTaskNames(tasks as unknown[], action);
}
