/**
 * The reading half of `QueueAdmin`: results (now or awaited), records,
 * pages, counts and the registry of running workers, each handed to the
 * module that does the work (`inspect.ts`, `results.ts`,
 * `result_watcher.ts`, `workers.ts`). `QueueManager` (`queue_manager.ts`)
 * extends it with the writes, and `QueueAdmin` with subscriptions and
 * closing; kept apart so that each module has one job.
 *
 * @module
 */
import { type Serializer, SuperJsonSerializer } from "../core/serializer.ts";
import {
  type Clock,
  type FinalTaskResult,
  type QueueStats,
  type ResultOf,
  systemClock,
  type TaskId,
  type TaskRecord,
  type TaskResult,
} from "../core/types.ts";
import type { Backend } from "../storage/backend.ts";
import { checkBackend } from "../storage/check_backend.ts";
import { readTaskPage, readTaskRecord, readTaskRow } from "./inspect.ts";
import {
  countUnhandled,
  readWorkers,
  type UnhandledTaskCount,
  type WorkerInfo,
  type WorkersOptions,
} from "./workers.ts";
import {
  checkQueueOptions,
  type ListTasksOptions,
  type TaskQueueOptions,
} from "./options.ts";
import {
  checkWaitOptions,
  ResultWatcher,
  type WaitOptions,
} from "./result_watcher.ts";
import {
  rowToResult,
  type TaskPage,
  toQueueStats,
  toStatsByName,
} from "./results.ts";

/**
 * Checks what `new QueueAdmin()` or `new TaskQueue()` was given, naming the
 * class in the message, and returns the backend (so a subclass can check
 * before `super()`).
 *
 * @throws {TypeError} As {@linkcode QueueAdmin}'s constructor.
 */
export function checkQueueInputs(
  backend: Backend,
  options: TaskQueueOptions,
  action: string,
): Backend {
  checkBackend(backend, action);
  checkQueueOptions(options, action);
  return backend;
}

/**
 * Reads the tasks stored on a {@linkcode Backend}: results (now or
 * awaited), records, pages, counts and running workers. The base of
 * {@linkcode QueueAdmin} (and so of {@linkcode TaskQueue}), which is what
 * to construct.
 */
export class QueueReader {
  /** Where tasks are stored. */
  readonly backend: Backend;
  /** How arguments and results are stored. */
  readonly serializer: Serializer;
  /** The time source. */
  readonly clock: Clock;
  readonly #watcher: ResultWatcher;

  /**
   * Creates an admin view of the tasks on a backend.
   *
   * @param backend Where tasks are stored, e.g. `new SQLiteBackend("tasks.db")`.
   * @param options The serializer and clock.
   * @throws {TypeError} If `backend` is not a backend, an option is unknown,
   * or the serializer or clock lacks a method it must have (a serializer
   * needs `serialize` and `deserialize` functions; a clock a `now()` that
   * returns milliseconds since the epoch).
   */
  constructor(backend: Backend, options: TaskQueueOptions = {}) {
    checkQueueInputs(backend, options, "create QueueAdmin");
    this.backend = backend;
    this.serializer = options.serializer ?? new SuperJsonSerializer();
    this.clock = options.clock ?? systemClock;
    this.#watcher = new ResultWatcher(backend, (id) => this.getResult(id));
  }

  /**
   * What is known of a task now: its state while unfinished, its value or
   * error once final. Never waits.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => null);
   * const id = await queue.enqueue(noop);
   * console.log((await queue.getResult(id)).status); // "queued"
   * await queue.close();
   * ```
   *
   * @typeParam Id The id's type, which carries the handler's result type
   * (ids of different tasks may be mixed: the value is then a union).
   * @param id An id returned by `enqueue`.
   * @returns The task's {@linkcode TaskResult}.
   * @throws {TaskNotFoundError} If no task has that id.
   */
  async getResult<Id extends TaskId>(
    id: Id,
  ): Promise<TaskResult<ResultOf<Id>>> {
    return rowToResult<ResultOf<Id>>(
      await readTaskRow(this.backend, id),
      this.serializer,
    );
  }

  /**
   * Waits until a task is completed, failed (after its last attempt) or
   * cancelled, and returns that result. Completions in this process wake it
   * at once; other processes' are noticed through the backend's change poll.
   * While retries remain it keeps waiting.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const double = queue.task("double", (n: number) => n * 2);
   * const id = await queue.enqueue(double, 21);
   * const worker = queue.worker();
   * await worker.start();
   * const result = await queue.waitForResult(id, { timeout: 5000 });
   * if (result.status === "completed") console.log(result.value); // 42
   * await worker.stop();
   * await queue.close();
   * ```
   *
   * @typeParam Id The id's type, which carries the handler's result type
   * (ids of different tasks may be mixed: the value is then a union).
   * @param id An id returned by `enqueue`.
   * @param options A timeout and an abort signal.
   * @returns The final result.
   * @throws {TaskNotFoundError} If no task has that id.
   * @throws {WaitTimeoutError} If the timeout passes first.
   * @throws The signal's reason, unchanged, if `signal` aborts first (a
   * `DOMException` named `AbortError` for a bare `controller.abort()`; pass
   * a reason to name the task).
   * @throws {TypeError | RangeError} If an option is invalid (a `signal`
   * that is not an `AbortSignal`, a negative `timeout`).
   */
  async waitForResult<Id extends TaskId>(
    id: Id,
    options: WaitOptions = {},
  ): Promise<FinalTaskResult<ResultOf<Id>>> {
    checkWaitOptions(options);
    const result = await this.#watcher.wait(id, options);
    return result as FinalTaskResult<ResultOf<Id>>;
  }

  /**
   * Everything stored about a task: arguments, state, timings, worker,
   * progress, result and attempt history.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const greet = queue.task("greet", (name: string) => `hi ${name}`);
   * const id = await queue.enqueue(greet, "ada");
   * const task = await queue.getTask(id);
   * console.log(task.name, task.args, task.status); // "greet" ["ada"] "queued"
   * await queue.close();
   * ```
   *
   * @param id An id returned by `enqueue`.
   * @returns The task's record.
   * @throws {TaskNotFoundError} If no task has that id.
   */
  async getTask(id: TaskId | number): Promise<TaskRecord> {
    return await readTaskRecord(this.backend, this.serializer, id);
  }

  /**
   * Lists tasks, newest first, a page at a time.
   *
   * @example Page through failed tasks
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * let cursor: string | undefined;
   * do {
   *   const page = await queue.listTasks({ status: "failed", limit: 50, cursor });
   *   for (const task of page.tasks) console.log(task.id, task.result);
   *   cursor = page.nextCursor;
   * } while (cursor !== undefined);
   * await queue.close();
   * ```
   *
   * @param options Status and name filters, a page size and a cursor.
   * @returns One page and the cursor of the next.
   * @throws {TypeError | RangeError} If a filter is invalid.
   */
  async listTasks(options: ListTasksOptions = {}): Promise<TaskPage> {
    return await readTaskPage(this.backend, this.serializer, options);
  }

  /**
   * Counts tasks per status, zeros included.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * console.log(await queue.stats()); // { waiting: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }
   * await queue.close();
   * ```
   *
   * @returns A count for every status.
   */
  async stats(): Promise<QueueStats> {
    return toQueueStats(await this.backend.countByStatus());
  }

  /**
   * Counts tasks per task name and status: one entry per name that has any
   * task stored, every status present with zeros, names in ascending order.
   * With {@linkcode Worker.taskNames} it shows queued work no worker takes:
   * a name with queued tasks that no running worker lists stays queued.
   * Names registered on this queue but never enqueued are absent. Reads
   * every stored task, so it is meant for dashboards and checks, not for a
   * hot loop.
   *
   * @example Find queued work that the running worker does not handle
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const resize = queue.task("resize", (path: string) => path);
   * await queue.enqueue(resize, "cat.png");
   * const worker = queue.worker();
   * for (const [name, stats] of await queue.statsByName()) {
   *   if (stats.queued > 0 && !worker.taskNames.includes(name)) {
   *     console.warn(`${stats.queued} tasks of ${name} wait for a worker`);
   *   }
   * }
   * await queue.close();
   * ```
   *
   * @returns A map from task name to its {@linkcode QueueStats}.
   */
  async statsByName(): Promise<Map<string, QueueStats>> {
    return toStatsByName(await this.backend.countByName());
  }

  /**
   * The workers running now on this queue's database, in any process, by
   * id: each started worker keeps a row with a heartbeat every
   * `heartbeatInterval` ms and deletes it when it stops; one silent for
   * `staleAfter` ms (a killed process) is left out. See
   * {@linkcode WorkerInfo}.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * for (const worker of await queue.workers()) {
   *   console.log(worker.id, worker.names, worker.host, worker.pid);
   * }
   * await queue.close();
   * ```
   *
   * @param options `staleAfter`, ms (default 30000).
   * @throws {TypeError | RangeError} If `staleAfter` is not an integer >= 1.
   */
  workers(options: WorkersOptions = {}): Promise<WorkerInfo[]> {
    return readWorkers(this.backend, this.clock, options, "list workers");
  }

  /**
   * Queued tasks whose name no live worker handles, in any process (see
   * {@linkcode TaskQueue.workers}), counted per name: `due` ones wait for
   * a worker now, `later` ones (delayed, or retrying) will when their time
   * comes. Names ordered; names with none absent. Reads every stored task's
   * name, like `statsByName()`: for dashboards and checks.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const resize = queue.task("resize", (path: string) => path);
   * await queue.enqueue(resize, "cat.png");
   * // No worker runs: [{ name: "resize", due: 1, later: 0 }]
   * console.log(await queue.unhandledTasks());
   * await queue.close();
   * ```
   *
   * @param options `staleAfter`, ms (default 30000).
   * @throws {TypeError | RangeError} If `staleAfter` is not an integer >= 1.
   */
  unhandledTasks(options: WorkersOptions = {}): Promise<UnhandledTaskCount[]> {
    return countUnhandled(
      this.backend,
      this.clock,
      options,
      "count unhandled tasks",
    );
  }
}
