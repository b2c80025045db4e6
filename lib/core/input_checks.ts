/**
 * What `TaskQueue` and `Worker` check when they are built: that every object
 * or function they are given has the shape they will call later, and that
 * names they store read back as given. A wrong shape would otherwise pass
 * construction and fail later with an error that blames something else (a
 * `{ dumps, loads }` serializer made the first enqueue blame its arguments).
 *
 * @module
 */
import type { Backend } from "../storage/backend.ts";
import { checkTaskName } from "./task.ts";
import {
  checkClock,
  checkLogger,
  checkMethods,
  checkSerializer,
  checkWellFormed,
  describeShape,
} from "./validate.ts";

/**
 * Every method of {@linkcode Backend}; `satisfies` makes the compiler fail
 * when the interface gains or loses one and this list does not follow.
 */
const BACKEND_METHODS = Object.keys(
  {
    open: true,
    insertTasks: true,
    settleAndClaim: true,
    renewLeases: true,
    recoverExpiredLeases: true,
    saveProgress: true,
    getTask: true,
    getAttempts: true,
    listTasks: true,
    countByStatus: true,
    countByName: true,
    countDueExcept: true,
    cancel: true,
    requeue: true,
    prune: true,
    subscribe: true,
    close: true,
  } satisfies Record<MethodName<Backend>, true>,
);

/** The names of `T`'s members that are functions. */
type MethodName<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T];

/**
 * Throws a TypeError unless `value` has every method of a
 * {@linkcode Backend}, e.g. is a `SQLiteBackend`.
 */
export function checkBackend(value: unknown, action: string): void {
  checkMethods(
    value,
    action,
    "backend",
    BACKEND_METHODS,
    'a sitq Backend such as new SQLiteBackend("tasks.db")',
    (given) => {
      if (typeof given === "string") {
        return `pass new SQLiteBackend(${JSON.stringify(given)})`;
      }
      if (typeof given !== "object" || given === null) return undefined;
      const missing = BACKEND_METHODS.filter((name) =>
        typeof (given as Record<string, unknown>)[name] !== "function"
      );
      return `it lacks ${missing.slice(0, 4).join(", ")}${
        missing.length > 4 ? ", ..." : ""
      } (a database handle is not a backend: pass its path to new SQLiteBackend(path))`;
    },
  );
}

/** The options of `TaskQueue` and `Worker` whose shape is checked here. */
interface SharedInputs {
  serializer?: unknown;
  clock?: unknown;
  logger?: unknown;
}

function checkShared(options: SharedInputs, action: string): void {
  if (options.serializer !== undefined) {
    checkSerializer(options.serializer, action);
  }
  if (options.clock !== undefined) checkClock(options.clock, action);
  if (options.logger !== undefined) checkLogger(options.logger, action);
}

/**
 * Checks the shapes of what `new TaskQueue(backend, options)` was given
 * beyond the option names: the serializer's and the clock's.
 *
 * @throws {TypeError} Naming the first option of the wrong shape.
 */
export function checkQueueInputs(options: SharedInputs): void {
  checkShared(options, "create TaskQueue");
}

/**
 * Checks what `new Worker(backend, options)` was given, beyond what the
 * worker checks itself: the backend's methods, the shapes of `serializer`,
 * `clock` and `logger`, and that `workerId` and every task name read back
 * from the database exactly as given.
 *
 * @throws {TypeError | RangeError} Naming the first bad option.
 */
export function checkWorkerInputs(
  backend: unknown,
  options: SharedInputs & { workerId?: unknown; tasks?: unknown },
): void {
  const action = "create Worker";
  checkBackend(backend, action);
  checkShared(options, action);
  if (typeof options.workerId === "string") {
    checkWorkerId(options.workerId, action);
  }
  if (Array.isArray(options.tasks)) checkTaskNames(options.tasks);
}

/**
 * Throws a RangeError unless a worker id given by the user can be stored as
 * the lease owner and read back exactly: well-formed, without control
 * characters (a NUL ends the text for some drivers).
 */
export function checkWorkerId(workerId: string, action: string): void {
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
export function checkTaskNames(
  tasks: readonly unknown[],
  action = "create Worker",
): void {
  for (const task of tasks) {
    const name = (task as { name?: unknown } | null | undefined)?.name;
    if (typeof name === "string") checkTaskName(name, action);
  }
}

/**
 * Throws a TypeError unless `tasks` is still a non-empty list of tasks
 * (name and handler) with valid names. A worker reads its task list again
 * when it starts, and the list may have changed since it was built.
 */
export function checkWorkerTasks(tasks: unknown, action: string): void {
  if (!Array.isArray(tasks) || tasks.length === 0) {
    throw new TypeError(
      `Cannot ${action} as its 'tasks' must be a non-empty array of tasks from queue.task(): current value is ${
        Array.isArray(tasks) ? "[]" : typeof tasks
      }`,
    );
  }
  for (const task of tasks as unknown[]) {
    const { name, handler } = (task ?? {}) as Record<string, unknown>;
    if (typeof name !== "string" || typeof handler !== "function") {
      throw new TypeError(
        `Cannot ${action} as every entry of its 'tasks' must be a task from queue.task(): found ${
          describeShape(task)
        }`,
      );
    }
  }
  checkTaskNames(tasks, action);
}
