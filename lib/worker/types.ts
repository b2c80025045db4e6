/**
 * The worker's public shapes: its options, the options of `stop()` and
 * `run()`, why it stopped, its stats and its events. The `Worker` class is
 * in `worker.ts`; the checks of these options in `worker_checks.ts`.
 *
 * @module
 */
import type { Clock, StoredError, TaskId } from "../core/types.ts";
import type { Logger } from "../core/logger.ts";
import type { Serializer } from "../core/serializer.ts";
import type { Task } from "../core/task.ts";
import type { ThreadPoolOptions } from "./threads/options.ts";

/** Any task, whatever its argument and result types. */
export type AnyTask = Task<never, unknown>;

/**
 * Options for {@linkcode Worker}. Durations are in milliseconds; every
 * option but `tasks` has a default. `new Worker()` refuses an unknown key,
 * a duration that is not a timer's (0..2147483647 ms), and a shape that
 * does not fit, with a `TypeError` or `RangeError` naming the option.
 *
 * @example A worker for two tasks, four at a time, with logs
 * ```ts
 * import { SQLiteBackend, TaskQueue, Worker, type WorkerOptions } from "sitq";
 *
 * const backend = new SQLiteBackend(":memory:");
 * const queue = new TaskQueue(backend);
 * const resize = queue.task("resize", (path: string) => path);
 * const email = queue.task("email", (to: string) => to);
 * const options: WorkerOptions = {
 *   tasks: [resize, email],
 *   concurrency: 4,
 *   pollInterval: 5_000,
 *   shutdownTimeout: 10_000,
 *   logger: console,
 * };
 * const worker = new Worker(backend, options);
 * console.log(worker.taskNames); // [ "resize", "email" ]
 * await queue.close();
 * ```
 */
export interface WorkerOptions {
  /**
   * The tasks this worker runs; it claims only these names. The array is
   * read again at each `start()` and `processOne()`: `queue.worker()` passes
   * the queue's own, so tasks defined on the queue before the worker starts
   * are run too.
   */
  tasks: readonly AnyTask[];
  /**
   * How many tasks run at once. The worker never holds more claims than this.
   *
   * @default {1}
   */
  concurrency?: number;
  /** An alias of `concurrency`, as the Python sitq named it. */
  maxConcurrency?: number;
  /**
   * The queues this worker claims from (at least one name of 1 to 128
   * characters; see `TaskOptions.queue`): `["emails"]` runs only tasks of
   * the "emails" queue. Every queue when absent. Paused queues are skipped
   * and limited ones claimed within their limits (`queue.queues`).
   *
   * @default {every queue}
   */
  queues?: readonly string[];
  /**
   * How often an idle worker re-queries the table even when nothing signalled
   * new work: to find delayed tasks that came due in other processes and
   * tasks whose lease expired. New tasks from this process wake the worker at
   * once, and commits by other processes within milliseconds where the
   * backend watches the database file (SQLite on a local disk), else within
   * the backend's `changePollInterval` (100 ms by default).
   *
   * @default {1000}
   */
  pollInterval?: number;
  /**
   * This worker's name in the database (lease owner, attempt history).
   *
   * @default {"worker-<pid>-<random>"}
   */
  workerId?: string;
  /**
   * How long a claim lasts unless renewed. A live worker renews it every
   * `heartbeatInterval`; a crashed or frozen worker's tasks become claimable
   * again once it passes.
   *
   * @default {30000}
   */
  leaseDuration?: number;
  /**
   * How often leases of running tasks are renewed.
   *
   * @default {leaseDuration / 3}
   */
  heartbeatInterval?: number;
  /**
   * How long `stop()` lets running tasks finish before aborting them and
   * returning them to the queue.
   *
   * @default {30000}
   */
  shutdownTimeout?: number;
  /**
   * How arguments and results are stored; must match the queue's.
   *
   * @default {new SuperJsonSerializer()}
   */
  serializer?: Serializer;
  /** The time source for run times and leases; inject one in tests. */
  clock?: Clock;
  /**
   * Where the worker reports what it does: start and stop at `info`,
   * retries and timeouts at `warn`, failures at `error`, claims and
   * completions at `debug`, and once at `warn` when the backend says it
   * can only poll for other processes' work; see {@linkcode Logger}.
   * `console` and pino loggers fit.
   *
   * @default {silent}
   */
  logger?: Logger;
  /**
   * The most tasks the worker claims per `start()` (or `run()`): an integer
   * >= 1. Once it has claimed this many it claims no more, lets them finish
   * (no deadline: each task's own `timeout` still applies), writes their
   * outcomes, and stops by itself: `run()` resolves with `"maxTasks"`,
   * `done` resolves and {@linkcode Worker.stopReason} is `"maxTasks"`. The
   * limit is exact at any concurrency (a claim never asks for more than
   * what is left), so task N + 1 is never started. Every claim counts,
   * whatever its outcome: a failed attempt this worker claims again later
   * counts twice. Each `start()` grants a fresh budget; `processOne()`
   * neither counts nor is limited. A `stop()` meanwhile applies its
   * deadline as usual.
   *
   * @default {unlimited}
   */
  maxTasks?: number;
  /**
   * Whether the worker fires the recurring schedules stored in the
   * database (`queue.schedules`): one task per due slot, exactly one
   * however many workers run, whatever task names this one handles. With
   * no schedule stored it costs nothing but a read when another process
   * writes (at most one per `pollInterval`).
   *
   * @default {true}
   */
  schedules?: boolean;
  /**
   * The thread pool that runs the tasks whose handlers live in a module
   * (`queue.task(name, threadModule(url).handler(name))`): its size (by
   * default the number of cores), each thread's memory limits, and the
   * serializer module the threads load. Threads start only when such a
   * task runs, and end when the worker stops. See
   * {@linkcode ThreadPoolOptions}.
   *
   * @default {{ size: os.availableParallelism() }}
   */
  threads?: ThreadPoolOptions;
}

/** Options for {@linkcode Worker.stop}. */
export interface StopOptions {
  /**
   * Milliseconds to let running tasks finish before aborting them.
   *
   * @default {the worker's shutdownTimeout}
   */
  timeout?: number;
}

/** Options for {@linkcode Worker.run}. Durations are in milliseconds. */
export interface WorkerRunOptions extends StopOptions {
  /**
   * Stop gracefully after this long, counted from the call (the seeds'
   * `run(duration=60)`, in milliseconds here). At most 2147483647. `0` on
   * a worker not yet running opens the backend and stops before the first
   * claim: no task runs, and `run()` resolves `"duration"` (likewise a
   * `signal` already aborted: `"aborted"`).
   *
   * @default {no limit}
   */
  duration?: number;
  /**
   * Stop gracefully when this signal aborts (at once if it already has),
   * e.g. `AbortSignal.timeout(60_000)` or an `AbortController`'s signal.
   *
   * @default {none}
   */
  signal?: AbortSignal;
}

/**
 * Why a worker stopped, as {@linkcode Worker.run} returns it:
 * - `"stop"`: `stop()` was called (or the worker was disposed).
 * - `"maxTasks"`: it had claimed `maxTasks` tasks and they finished.
 * - `"duration"`: `run({ duration })` elapsed.
 * - `"aborted"`: `run({ signal })` aborted.
 * - `"SIGINT"` / `"SIGTERM"`: `run()` received that signal.
 * - `"closed"`: its backend was closed under it, so nothing more could be
 *   written.
 */
export type StopReason =
  | "stop"
  | "maxTasks"
  | "duration"
  | "aborted"
  | "SIGINT"
  | "SIGTERM"
  | "closed";

/** What a worker has done since it started. */
export interface WorkerStats {
  /** Whether the loop is running. */
  running: boolean;
  /** Tasks whose handler is running now. */
  active: number;
  /** Their ids. */
  currentTasks: TaskId[];
  /** Attempts completed successfully. */
  completed: number;
  /** Tasks failed for good. */
  failed: number;
  /** Failed attempts that will be retried. */
  retried: number;
  /** Milliseconds since `start()`, 0 before. */
  uptime: number;
  /** Finished attempts per second of uptime. */
  tasksPerSecond: number;
  /** Mean handler duration in milliseconds. */
  averageDuration: number;
}

/** Identifies a task in an event. */
export interface TaskEventBase {
  /** The task's id. */
  id: TaskId;
  /** Its name. */
  name: string;
  /** The attempt's number, from 1. */
  attempt: number;
  /** The attempt's duration in milliseconds. */
  duration: number;
}

/**
 * The events a worker emits, by name, with their payloads; listen with
 * {@linkcode Worker.on}. Each is emitted once its outcome is written (a
 * completion nobody listens for is not even built). A listener that throws
 * is logged at `error` and does not stop the others.
 *
 * @example Count outcomes
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const noop = queue.task("noop", () => {});
 * const worker = queue.worker();
 * let completed = 0;
 * worker.on("completed", () => completed++);
 * worker.on("error", ({ error }) => console.error(error.message));
 * await queue.enqueue(noop);
 * await worker.processOne();
 * console.log(completed); // 1
 * await queue.close();
 * ```
 */
export interface WorkerEvents {
  /** A task completed; `value` is what its handler returned. */
  completed: TaskEventBase & { value: unknown };
  /** A task failed for good. */
  failed: TaskEventBase & { error: StoredError };
  /** An attempt failed and the task will run again at `retryAt`. */
  retrying: TaskEventBase & { error: StoredError; retryAt: Date };
  /** The worker itself hit a problem (a database error it will retry, a lost lease). */
  error: { error: Error };
}
