/**
 * The queue: defining tasks, enqueueing them, and reading, awaiting and
 * managing what is stored.
 *
 * @module
 */
import type { Backend, TaskRow } from "../storage/backend.ts";
import {
  InvalidStateError,
  SitqError,
  TaskNotFoundError,
  UnknownTaskError,
  WaitTimeoutError,
} from "./errors.ts";
import {
  serializeOrThrow,
  type Serializer,
  SuperJsonSerializer,
} from "./serializer.ts";
import {
  checkRunOptions,
  checkTaskName,
  checkTaskOptions,
  createTask,
  mergeRunOptions,
  type RunOptions,
  type Task,
  type TaskHandler,
  type TaskOptions,
} from "./task.ts";
import { rowToRecord, rowToResult } from "./task_record.ts";
import {
  type Clock,
  type FinalTaskResult,
  type QueueStats,
  type ResultOf,
  systemClock,
  TASK_STATUSES,
  type TaskId,
  type TaskRecord,
  type TaskResult,
  type TaskStatus,
} from "./types.ts";
import {
  checkAbortSignal,
  checkDuration,
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  checkTimerDuration,
  checkWellFormed,
} from "./validate.ts";
import { Worker, type WorkerOptions } from "./worker.ts";
import { checkBackend, checkQueueInputs } from "./input_checks.ts";

/** Options for {@linkcode TaskQueue}. */
export interface TaskQueueOptions {
  /**
   * How arguments, results and progress are stored.
   *
   * @default {new SuperJsonSerializer()}
   */
  serializer?: Serializer;
  /** The time source for delays and run times; inject one in tests. */
  clock?: Clock;
}

/** Filters and paging for {@linkcode TaskQueue.listTasks}. */
export interface ListTasksOptions {
  /** Only tasks in this status (or any of these; an empty list matches none). */
  status?: TaskStatus | readonly TaskStatus[];
  /** Only tasks of this name. */
  name?: string;
  /**
   * At most this many tasks.
   *
   * @default {100}
   */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

/** One page of {@linkcode TaskQueue.listTasks}. */
export interface TaskPage {
  /** Tasks, newest first. */
  tasks: TaskRecord[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Options for {@linkcode TaskQueue.waitForResult}. */
export interface WaitOptions {
  /** Give up after this many milliseconds with a `WaitTimeoutError`. No limit when absent. */
  timeout?: number;
  /** Stop waiting when this signal aborts (rejects with its reason). */
  signal?: AbortSignal;
}

/** Options for {@linkcode TaskQueue.prune}. */
export interface PruneOptions {
  /**
   * Delete tasks that finished more than this many milliseconds ago, or
   * before this date.
   */
  olderThan: number | Date;
  /**
   * Which final statuses to delete.
   *
   * @default {["completed", "cancelled"]}
   */
  statuses?: ReadonlyArray<"completed" | "failed" | "cancelled">;
}

/** The latest time a `Date` can hold, in ms since the epoch. */
const MAX_DATE_MS = 8.64e15;

// How often waitForResult re-reads when nothing signalled a change (only
// matters for backends that cannot notice other processes' commits).
const WAIT_FALLBACK_POLL = 1000;

/**
 * A persistent task queue on a {@linkcode Backend}.
 *
 * @example Define, enqueue, run, read
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const resize = queue.task("resize", (path: string, width: number) => ({ path, width }));
 *
 * const id = await queue.enqueue(resize, "cat.png", 200);
 * const worker = queue.worker({ concurrency: 4 });
 * await worker.start();
 * const result = await queue.waitForResult(id, { timeout: 5000 });
 * console.log(result); // { status: "completed", value: { path: "cat.png", width: 200 }, attempts: 1 }
 * await worker.stop();
 * await queue.close();
 * ```
 */
export class TaskQueue implements AsyncDisposable {
  /** Where tasks are stored. */
  readonly backend: Backend;
  /** How arguments and results are stored. */
  readonly serializer: Serializer;
  /** The time source. */
  readonly clock: Clock;
  readonly #tasks = new Map<string, Task<never, unknown>>();
  /**
   * The same tasks in definition order, as one array that grows in place:
   * `queue.worker()` hands this very array to its workers, which read it
   * when they start (so a task defined after `queue.worker()` but before
   * `start()` is run too).
   */
  readonly #taskList: Task<never, unknown>[] = [];

  /**
   * Creates a queue on a backend.
   *
   * @param backend Where tasks are stored, e.g. `new SQLiteBackend("tasks.db")`.
   * @param options The serializer and clock.
   * @throws {TypeError} If `backend` is not a backend, an option is unknown,
   * or the serializer or clock lacks a method it must have (a serializer
   * needs `serialize` and `deserialize` functions; a clock a `now()` that
   * returns milliseconds since the epoch).
   */
  constructor(backend: Backend, options: TaskQueueOptions = {}) {
    checkBackend(backend, "create TaskQueue");
    checkOptionsObject(options, "create TaskQueue");
    checkKnownKeys(options, ["serializer", "clock"], "create TaskQueue");
    checkQueueInputs(options);
    this.backend = backend;
    this.serializer = options.serializer ?? new SuperJsonSerializer();
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Registers a task: a durable name bound to a handler. The argument and
   * result types of the returned task come from the handler.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const send = queue.task("email.send", async (to: string, subject: string) => {
   *   return `sent "${subject}" to ${to}`;
   * }, { maxAttempts: 5, backoff: { type: "exponential", delay: 2000 }, timeout: 30_000 });
   * console.log(send.name); // "email.send"
   * await queue.close();
   * ```
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's return type.
   * @param name The task's identity in the database; keep it stable across deploys.
   * @param handler The function a worker runs; sync or async.
   * @param options Defaults for every run: attempts, backoff, timeout, priority.
   * @returns The task, to pass to `enqueue` and to workers.
   * @throws {TypeError | RangeError} If the name or an option is invalid.
   * @throws {SitqError} `DUPLICATE_TASK` if another handler already has the name.
   */
  task<Args extends unknown[], Result>(
    name: string,
    handler: TaskHandler<Args, Result>,
    options: TaskOptions = {},
  ): Task<Args, Awaited<Result>> {
    checkTaskName(name);
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot define task "${name}" as its handler must be a function: current value is ${typeof handler}`,
      );
    }
    checkTaskOptions(options, name);
    const existing = this.#tasks.get(name);
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
    this.#tasks.set(name, stored);
    if (existing === undefined) this.#taskList.push(stored);
    else this.#taskList[this.#taskList.indexOf(existing)] = stored;
    return task;
  }

  /** Every task registered on this queue, in definition order (a copy). */
  get tasks(): readonly Task<never, unknown>[] {
    return [...this.#taskList];
  }

  /**
   * Adds a run of `task` to the queue and returns its id. Use
   * `task.with({ delay, runAt, priority, maxAttempts, timeout })` to set
   * options for this run.
   *
   * @example Enqueue now, later, and urgently
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const resize = queue.task("resize", (path: string, width: number) => ({ path, width }));
   * const now = await queue.enqueue(resize, "cat.png", 200);
   * const later = await queue.enqueue(resize.with({ delay: 60_000 }), "dog.png", 100);
   * const urgent = await queue.enqueue(resize.with({ priority: 10 }), "fox.png", 50);
   * console.log(now, later, urgent);
   * await queue.close();
   * ```
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A task returned by {@linkcode TaskQueue.task}.
   * @param args The handler's arguments.
   * @returns The id of the new task.
   * @throws {UnknownTaskError} If `task` is not registered on this queue.
   * @throws {SerializationError} If an argument cannot be stored; nothing is written.
   */
  async enqueue<Args extends unknown[], Result>(
    task: Task<Args, Result>,
    ...args: Args
  ): Promise<TaskId<Result>> {
    const [id] = await this.#insert(task, [args], task?.runOptions);
    return id as TaskId<Result>;
  }

  /**
   * Adds many runs of one task in a single transaction: all are stored or
   * none is.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const add = queue.task("add", (a: number, b: number) => a + b);
   * const ids = await queue.enqueueMany(add, [[1, 2], [3, 4]], { priority: 1 });
   * console.log(ids.length); // 2
   * await queue.close();
   * ```
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A task returned by {@linkcode TaskQueue.task}.
   * @param argsList One argument list per run.
   * @param options Options for every run (merged over `task.with` options).
   * @returns The ids, in the order of `argsList`.
   * @throws {UnknownTaskError} If `task` is not registered on this queue.
   * @throws {SerializationError} If any argument cannot be stored; nothing is written.
   */
  async enqueueMany<Args extends unknown[], Result>(
    task: Task<Args, Result>,
    argsList: readonly Args[],
    options?: RunOptions,
  ): Promise<TaskId<Result>[]> {
    if (!Array.isArray(argsList)) {
      throw new TypeError(
        `Cannot enqueue task "${task?.name}" as 'argsList' must be an array of argument lists: current value is ${typeof argsList}`,
      );
    }
    const ids = await this.#insert(
      task,
      argsList,
      mergeRunOptions(task?.runOptions, options),
    );
    return ids as TaskId<Result>[];
  }

  #insert(
    task: Task<never, unknown> | Task<unknown[], unknown>,
    argsList: readonly unknown[][],
    runOptions: RunOptions | undefined,
  ): Promise<number[]> {
    const name = typeof task === "object" && task !== null
      ? task.name
      : undefined;
    if (name === undefined || !this.#tasks.has(name)) {
      throw new UnknownTaskError(String(name ?? task), "enqueue");
    }
    checkRunOptions(runOptions, name);
    const defaults = task.options;
    const now = this.clock.now();
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
      priority: runOptions?.priority ?? defaults.priority ?? 0,
      runAt: Math.round(runAt),
      maxAttempts: runOptions?.maxAttempts ?? defaults.maxAttempts ?? 3,
      timeout: runOptions?.timeout ?? defaults.timeout ?? null,
      createdAt: now,
    };
    const rows = argsList.map((args, index) => {
      if (!Array.isArray(args)) {
        throw new TypeError(
          `Cannot enqueue task "${name}" as argument list ${index} is not an array: current value is ${typeof args}`,
        );
      }
      const serialized = serializeOrThrow(
        this.serializer,
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
    return this.backend.insertTasks(rows);
  }

  async #row(id: number): Promise<TaskRow> {
    checkInteger(id, "look up task", "id", 1);
    const row = await this.backend.getTask(id);
    if (row === undefined) throw new TaskNotFoundError(id);
    return row;
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
    return rowToResult<ResultOf<Id>>(await this.#row(id), this.serializer);
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
   * @throws {TypeError | RangeError} If an option is invalid (a `signal`
   * that is not an `AbortSignal`, a negative `timeout`).
   */
  async waitForResult<Id extends TaskId>(
    id: Id,
    options: WaitOptions = {},
  ): Promise<FinalTaskResult<ResultOf<Id>>> {
    checkOptionsObject(options, "wait for a result");
    checkKnownKeys(options, ["timeout", "signal"], "wait for a result");
    if (options.timeout !== undefined) {
      checkTimerDuration(options.timeout, "wait for a result", "timeout");
    }
    if (options.signal !== undefined) {
      checkAbortSignal(options.signal, "wait for a result");
    }
    const { signal, timeout } = options;
    signal?.throwIfAborted();
    let changed = true;
    let wake: (() => void) | undefined;
    const unsubscribe = this.backend.subscribe((change) => {
      if (change.type === "settled" && !change.ids.includes(id)) return;
      changed = true;
      wake?.();
    });
    let timedOut = false;
    const deadline = timeout === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      wake?.();
    }, timeout);
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    try {
      while (true) {
        if (changed) {
          changed = false;
          const result = await this.getResult(id);
          if (
            result.status === "completed" || result.status === "failed" ||
            result.status === "cancelled"
          ) return result;
        }
        signal?.throwIfAborted();
        if (timedOut) throw new WaitTimeoutError(id, timeout ?? 0);
        await new Promise<void>((resolve) => {
          const fallback = setTimeout(() => {
            changed = true;
            resolve();
          }, WAIT_FALLBACK_POLL);
          wake = () => {
            clearTimeout(fallback);
            resolve();
          };
          if (changed || timedOut || signal?.aborted) wake();
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      if (deadline !== undefined) clearTimeout(deadline);
      signal?.removeEventListener("abort", onAbort);
    }
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
    const row = await this.#row(id);
    return rowToRecord(
      row,
      await this.backend.getAttempts(id),
      this.serializer,
    );
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
    const action = "list tasks";
    checkOptionsObject(options, action);
    checkKnownKeys(options, ["status", "name", "limit", "cursor"], action);
    const limit = options.limit ?? 100;
    checkInteger(limit, action, "limit", 1);
    const statuses = options.status === undefined
      ? undefined
      : typeof options.status === "string"
      ? [options.status]
      : options.status;
    for (const status of statuses ?? []) {
      if (!TASK_STATUSES.includes(status)) {
        throw new RangeError(
          `Cannot list tasks as 'status' must be one of ${
            TASK_STATUSES.join(", ")
          }: current value is ${JSON.stringify(status)}`,
        );
      }
    }
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(
        `Cannot list tasks as 'name' must be a task name string: current value is ${typeof options
          .name}`,
      );
    }
    // A lone surrogate would reach the database as U+FFFD and match other
    // names' tasks; no task can have such a name anyway.
    if (options.name !== undefined) {
      checkWellFormed(options.name, action, "name");
    }
    let beforeId: number | undefined;
    if (options.cursor !== undefined) {
      beforeId = Number(options.cursor);
      if (!Number.isSafeInteger(beforeId) || beforeId < 1) {
        throw new TypeError(
          `Cannot list tasks as 'cursor' must be a nextCursor from an earlier page: current value is ${
            JSON.stringify(options.cursor)
          }`,
        );
      }
    }
    const rows = await this.backend.listTasks({
      statuses,
      name: options.name,
      limit: limit + 1,
      beforeId,
    });
    const page = rows.slice(0, limit);
    const tasks = await Promise.all(
      page.map(async (row) =>
        rowToRecord(
          row,
          await this.backend.getAttempts(row.id),
          this.serializer,
        )
      ),
    );
    const last = page.at(-1);
    return rows.length > limit && last !== undefined
      ? { tasks, nextCursor: String(last.id) }
      : { tasks };
  }

  /**
   * Counts tasks per status, zeros included.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * console.log(await queue.stats()); // { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }
   * await queue.close();
   * ```
   *
   * @returns A count for every status.
   */
  async stats(): Promise<QueueStats> {
    const counts = await this.backend.countByStatus();
    const stats = {} as QueueStats;
    for (const status of TASK_STATUSES) stats[status] = counts[status] ?? 0;
    return stats;
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
    // A Map, not an object: a task may be named "__proto__".
    const byName = new Map<string, QueueStats>();
    for (const { name, status, count } of await this.backend.countByName()) {
      let stats = byName.get(name);
      if (stats === undefined) {
        stats = {
          queued: 0,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
        };
        byName.set(name, stats);
      }
      stats[status] = count;
    }
    return byName;
  }

  /**
   * Cancels a queued task so no worker runs it. Cancelling a cancelled task
   * does nothing.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * const id = await queue.enqueue(noop.with({ delay: 60_000 }));
   * await queue.cancel(id);
   * console.log((await queue.getResult(id)).status); // "cancelled"
   * await queue.close();
   * ```
   *
   * @param id An id returned by `enqueue`.
   * @throws {TaskNotFoundError} If no task has that id.
   * @throws {InvalidStateError} If it is running or finished.
   */
  async cancel(id: TaskId | number): Promise<void> {
    checkInteger(id, "cancel task", "id", 1);
    const { changed, row } = await this.backend.cancel(id, this.clock.now());
    if (row === undefined) throw new TaskNotFoundError(id);
    if (!changed && row.status !== "cancelled") {
      throw new InvalidStateError(
        `Cannot cancel task ${id}: it is ${row.status}, and only queued tasks can be cancelled`,
      );
    }
  }

  /**
   * Puts a failed or cancelled task back in the queue, due now, with its
   * attempts reset to 0 (its history is kept).
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * const id = await queue.enqueue(noop);
   * await queue.cancel(id);
   * await queue.requeue(id);
   * console.log((await queue.getResult(id)).status); // "queued"
   * await queue.close();
   * ```
   *
   * @param id An id returned by `enqueue`.
   * @throws {TaskNotFoundError} If no task has that id.
   * @throws {InvalidStateError} If it is queued, running or completed.
   */
  async requeue(id: TaskId | number): Promise<void> {
    checkInteger(id, "requeue task", "id", 1);
    const { changed, row } = await this.backend.requeue(id, this.clock.now());
    if (row === undefined) throw new TaskNotFoundError(id);
    if (!changed) {
      throw new InvalidStateError(
        `Cannot requeue task ${id}: it is ${row.status}, and only failed or cancelled tasks can be requeued`,
      );
    }
  }

  /**
   * Deletes finished tasks (and their history) to keep the database small.
   *
   * @example Keep a day of completed tasks
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const removed = await queue.prune({ olderThan: 24 * 3_600_000 });
   * console.log(removed); // 0
   * await queue.close();
   * ```
   *
   * @param options Age and statuses to delete.
   * @returns How many tasks were deleted.
   * @throws {TypeError | RangeError} If an option is invalid.
   */
  async prune(options: PruneOptions): Promise<number> {
    const action = "prune tasks";
    checkOptionsObject(options, action);
    checkKnownKeys(options, ["olderThan", "statuses"], action);
    const { olderThan } = options;
    let before: number;
    if (olderThan instanceof Date) {
      before = olderThan.getTime();
      if (Number.isNaN(before)) {
        throw new TypeError(
          `Cannot ${action} as 'olderThan' is an invalid Date`,
        );
      }
    } else {
      checkDuration(olderThan, action, "olderThan");
      before = this.clock.now() - olderThan;
    }
    const statuses = options.statuses ?? ["completed", "cancelled"];
    for (const status of statuses) {
      if (
        status !== "completed" && status !== "failed" && status !== "cancelled"
      ) {
        throw new RangeError(
          `Cannot ${action} as 'statuses' may only hold completed, failed or cancelled: current value is ${
            JSON.stringify(status)
          }`,
        );
      }
    }
    return await this.backend.prune(statuses, before);
  }

  /**
   * A worker for every task registered on this queue, sharing its backend,
   * serializer and clock. Without `tasks`, the worker reads this queue's
   * tasks each time it starts (and at each `processOne()`), so a task
   * defined after `queue.worker()` but before `start()` is run too; a task
   * defined while the worker runs is not, until it is stopped and started
   * again. {@linkcode Worker.taskNames} lists what it runs, and a running
   * worker logs a warning when due tasks wait under names that no running
   * worker of this process handles.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * queue.task("noop", () => {});
   * const worker = queue.worker({ concurrency: 8 });
   * await worker.start();
   * await worker.stop();
   * await queue.close();
   * ```
   *
   * @param options Worker options; `tasks` defaults to this queue's tasks
   * as they are when the worker starts.
   * @returns A worker, not yet started.
   * @throws {TypeError} If no task is defined on this queue yet and no
   * `tasks` are given, or a worker option is invalid.
   */
  worker(options: Partial<WorkerOptions> = {}): Worker {
    checkOptionsObject(options, "create a worker");
    if (options.tasks === undefined && this.#taskList.length === 0) {
      throw new TypeError(
        "Cannot create a worker as no task is defined on this queue yet: define tasks with queue.task() first (the worker then runs every task defined on the queue when it starts)",
      );
    }
    return new Worker(this.backend, {
      serializer: this.serializer,
      clock: this.clock,
      ...options,
      // The live list, read by the worker at start(); see #taskList.
      tasks: options.tasks ?? this.#taskList,
    });
  }

  /**
   * Closes the backend. Stop workers that share it first.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * await using queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * // closed automatically at the end of the scope
   * ```
   */
  close(): Promise<void> {
    return this.backend.close();
  }

  /** Closes the backend (`await using queue = ...`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
