/**
 * The one answer to "is this a Backend?", asked by `new TaskQueue(backend)`
 * and `new Worker(backend)` before they keep the value. A wrong value (a
 * path, a database handle) would otherwise pass construction and fail at
 * the first call with an error that blames something else.
 *
 * @module
 */
import { checkMethods } from "../core/validate_shapes.ts";
import type { Backend } from "./backend.ts";

/** The names of `T`'s members that are functions. */
type MethodName<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T];

/**
 * Every method of {@linkcode Backend}; `satisfies` makes the compiler fail
 * when the interface gains or loses one and this list does not follow.
 */
const BACKEND_METHODS = Object.keys(
  {
    open: true,
    insertTasks: true,
    insertGraph: true,
    getParents: true,
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
    registerWorker: true,
    heartbeatWorker: true,
    removeWorker: true,
    listWorkers: true,
    saveSchedule: true,
    listSchedules: true,
    getSchedule: true,
    pauseSchedule: true,
    removeSchedule: true,
    fireSchedule: true,
    cancel: true,
    requeue: true,
    updateQueue: true,
    listQueues: true,
    prune: true,
    cancelTasks: true,
    requeueTasks: true,
    deleteTasks: true,
    cancelledAmong: true,
    registerSubscriber: true,
    heartbeatSubscriber: true,
    removeSubscriber: true,
    readEvents: true,
    subscribe: true,
    close: true,
  } satisfies Record<MethodName<Backend>, true>,
);

/**
 * Throws a TypeError unless `value` has every method of a
 * {@linkcode Backend}, e.g. is a `SQLiteBackend`. Only the methods are
 * checked (their presence, not their behaviour), so any object that
 * implements the interface passes.
 *
 * @param value What the caller was given as its backend.
 * @param action What is being done, for the message: "create TaskQueue".
 * @throws {TypeError} "Cannot <action> as 'backend' must be a sitq Backend
 * ...", with a hint for a path string ("pass new SQLiteBackend(path)") or an
 * object lacking methods (the first four missing ones are named).
 *
 * @example
 * ```ts ignore
 * checkBackend("tasks.db", "create TaskQueue"); // TypeError: ... pass new SQLiteBackend("tasks.db")
 * ```
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
