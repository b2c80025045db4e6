/**
 * The tasks a queue knows: each name bound to one handler. Enqueueing asks
 * it whether a task is registered; `queue.worker()` hands its live list to
 * workers.
 *
 * @module
 */
import { SitqError, UnknownTaskError } from "../core/errors.ts";
import {
  checkTaskName,
  checkTaskOptions,
  createTask,
  type Task,
  type TaskHandler,
  type TaskOptions,
} from "../core/task.ts";

/** The registered tasks of one queue, by name and in definition order. */
export class TaskRegistry {
  readonly #byName = new Map<string, Task<never, unknown>>();
  /**
   * The same tasks in definition order, as one array that grows in place:
   * `queue.worker()` hands this very array to its workers, which read it
   * when they start (so a task defined after `queue.worker()` but before
   * `start()` is run too). Read it; only {@linkcode TaskRegistry.define}
   * changes it.
   */
  readonly live: readonly Task<never, unknown>[] = [];

  /**
   * Registers `handler` under `name` and returns the task. Registering the
   * same handler again under its name replaces the task in place (new
   * options, same position).
   *
   * @throws {TypeError | RangeError} If the name, the handler or an option
   * is invalid.
   * @throws {SitqError} `DUPLICATE_TASK` if another handler has the name.
   */
  define<Args extends unknown[], Result>(
    name: string,
    handler: TaskHandler<Args, Result>,
    options: TaskOptions,
  ): Task<Args, Awaited<Result>> {
    checkTaskName(name);
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot define task "${name}" as its handler must be a function: current value is ${typeof handler}`,
      );
    }
    checkTaskOptions(options, name);
    const existing = this.#byName.get(name);
    if (existing !== undefined && existing.handler !== handler as unknown) {
      throw new SitqError(
        "DUPLICATE_TASK",
        `Cannot define task "${name}": another handler is already registered under that name on this queue; pick another name`,
      );
    }
    const task = createTask<Args, Awaited<Result>>(
      name,
      handler as TaskHandler<Args, Awaited<Result> | Promise<Awaited<Result>>>,
      options,
    );
    const stored = task as unknown as Task<never, unknown>;
    const live = this.live as Task<never, unknown>[];
    this.#byName.set(name, stored);
    if (existing === undefined) live.push(stored);
    else live[live.indexOf(existing)] = stored;
    return task;
  }

  /**
   * Throws unless a task of `task`'s name is registered here. Only the name
   * is compared: it is what is stored and what workers look up.
   *
   * @param task What the caller passed as a task.
   * @param action What is being done, for the message: "enqueue".
   * @throws {UnknownTaskError} If no task of that name is registered, or
   * `task` is not a task object at all.
   */
  checkRegistered(task: unknown, action: string): void {
    const name = typeof task === "object" && task !== null
      ? (task as { name?: unknown }).name
      : undefined;
    if (typeof name !== "string" || !this.#byName.has(name)) {
      throw new UnknownTaskError(String(name ?? task), action);
    }
  }
}
