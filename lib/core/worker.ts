/**
 * The worker: claims tasks it has handlers for, runs them with bounded
 * concurrency under renewed leases, retries, times out, and stops gracefully.
 *
 * @module
 */
import { LazyAbortController } from "./lazy_abort.ts";
import { onShutdownSignal, processId } from "../drivers/runtime.ts";
import type {
  Backend,
  ClaimedTask,
  ClaimRequest,
  Settlement,
} from "../storage/backend.ts";
import { coerceError } from "./coerce_error.ts";
import { storedErrorJson } from "./stored_error.ts";
import {
  InterruptedError,
  InvalidStateError,
  LeaseLostError,
  PermanentError,
  type SerializationError,
  SitqError,
  TaskTimeoutError,
} from "./errors.ts";
import { TypedEmitter, type Unsubscribe } from "./events.ts";
import {
  guardLogger,
  type LogData,
  type Logger,
  silentLogger,
} from "./logger.ts";
import { DEFAULT_BACKOFF, retryDelay } from "./retry_policy.ts";
import {
  serializeOrThrow,
  type Serializer,
  SuperJsonSerializer,
} from "./serializer.ts";
import type { Task, TaskContext } from "./task.ts";
import { checkWorkerInputs, checkWorkerTasks } from "./input_checks.ts";
import { UnhandledWork } from "./unhandled_work.ts";
import {
  type Clock,
  type StoredError,
  systemClock,
  type TaskId,
} from "./types.ts";
import {
  checkAbortSignal,
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  checkTimerDuration,
} from "./validate.ts";

/** Any task, whatever its argument and result types. */
export type AnyTask = Task<never, unknown>;

/** Options for {@linkcode Worker}. Durations are in milliseconds. */
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
   * completions at `debug`; see {@linkcode Logger}. `console` and pino
   * loggers fit.
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
   * `run(duration=60)`, in milliseconds here). At most 2147483647.
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

/** The events a worker emits, by name. */
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

/** An attempt's decided outcome, waiting to be written. */
interface PendingOutcome {
  attempt: Attempt;
  settlement: Settlement;
}

interface Attempt {
  readonly claimed: ClaimedTask;
  readonly task: AnyTask;
  readonly controller: LazyAbortController;
  readonly startedAt: number;
  /** Real-time start, for durations, independent of an injected clock. */
  readonly startedMono: number;
  /** Set once the attempt's outcome is decided; later outcomes are ignored. */
  done: boolean;
  timeoutTimer?: ReturnType<typeof setTimeout>;
  /** Resolves when the attempt's outcome is decided. */
  readonly finished: Promise<void>;
  readonly resolveFinished: () => void;
}

const OPTION_KEYS = [
  "tasks",
  "concurrency",
  "maxConcurrency",
  "pollInterval",
  "workerId",
  "leaseDuration",
  "heartbeatInterval",
  "shutdownTimeout",
  "serializer",
  "clock",
  "logger",
  "maxTasks",
];
const RUN_OPTION_KEYS = ["timeout", "duration", "signal"];
const MAX_ERROR_BACKOFF = 5000;
// Failed writes tolerated after the stop deadline before stop() gives up.
const SHUTDOWN_WRITE_ATTEMPTS = 3;

function defaultWorkerId(): string {
  const random = crypto.randomUUID().slice(0, 8);
  const pid = processId();
  return pid === undefined ? `worker-${random}` : `worker-${pid}-${random}`;
}

function checkWorkerOptions(options: WorkerOptions): void {
  const action = "create Worker";
  checkOptionsObject(options, action);
  if (options === undefined) {
    throw new TypeError(
      `Cannot ${action} as options with 'tasks' are required`,
    );
  }
  checkKnownKeys(options, OPTION_KEYS, action);
  if (!Array.isArray(options.tasks) || options.tasks.length === 0) {
    throw new TypeError(
      `Cannot ${action} as 'tasks' must be a non-empty array of tasks from queue.task(): current value is ${
        Array.isArray(options.tasks) ? "[]" : typeof options.tasks
      }`,
    );
  }
  for (const task of options.tasks) {
    if (typeof task?.name !== "string" || typeof task.handler !== "function") {
      throw new TypeError(
        `Cannot ${action} as every entry of 'tasks' must be a task from queue.task(): found ${typeof task}`,
      );
    }
  }
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
  if (options.pollInterval !== undefined) {
    checkTimerDuration(options.pollInterval, action, "pollInterval", 1);
  }
  if (options.leaseDuration !== undefined) {
    checkTimerDuration(options.leaseDuration, action, "leaseDuration", 10);
  }
  if (options.heartbeatInterval !== undefined) {
    checkTimerDuration(
      options.heartbeatInterval,
      action,
      "heartbeatInterval",
      1,
    );
    const lease = options.leaseDuration ?? 30_000;
    if (options.heartbeatInterval >= lease) {
      throw new RangeError(
        `Cannot ${action} as 'heartbeatInterval' (${options.heartbeatInterval}) must be shorter than 'leaseDuration' (${lease}), or leases expire between renewals`,
      );
    }
  }
  if (options.shutdownTimeout !== undefined) {
    checkTimerDuration(options.shutdownTimeout, action, "shutdownTimeout");
  }
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
 */
function checkRunOptions(options: WorkerRunOptions): void {
  const action = "run worker";
  checkOptionsObject(options, action);
  checkKnownKeys(options, RUN_OPTION_KEYS, action);
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
 * Runs tasks from a backend. Several workers, in one process or many, can
 * share a database; each claims only the task names it has handlers for.
 *
 * @example Start, wait for the queue to drain, stop
 * ```ts
 * import { SQLiteBackend, TaskQueue, Worker } from "sitq";
 *
 * const backend = new SQLiteBackend(":memory:");
 * const queue = new TaskQueue(backend);
 * const square = queue.task("square", (n: number) => n * n);
 * await queue.enqueueMany(square, [[1], [2], [3]]);
 *
 * const worker = new Worker(backend, { tasks: [square], concurrency: 2 });
 * worker.on("completed", ({ id, value }) => console.log(id, value));
 * await worker.start();
 * await worker.onIdle();
 * await worker.stop();
 * await queue.close();
 * ```
 */
export class Worker implements AsyncDisposable {
  /** This worker's id, stored as the lease owner. */
  readonly id: string;
  /** The backend it claims from (never closed by the worker). */
  readonly backend: Backend;
  /** How many tasks it runs at once. */
  readonly concurrency: number;
  /** The list given; `queue.worker()` passes the queue's, which grows. */
  readonly #taskList: readonly AnyTask[];
  /** The tasks read from `#taskList` at the last start (see `#bindTasks`). */
  #tasks = new Map<string, AnyTask>();
  #names: readonly string[] = [];
  readonly #unhandled: UnhandledWork;
  readonly #pollInterval: number;
  readonly #leaseDuration: number;
  readonly #heartbeatInterval: number;
  readonly #shutdownTimeout: number;
  readonly #serializer: Serializer;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #events: TypedEmitter<WorkerEvents>;
  readonly #maxTasks: number;

  /** Claimed attempts whose settlement is not yet written; each holds a slot. */
  readonly #active = new Map<number, Attempt>();
  /** Outcomes decided but not yet written. */
  #pending: PendingOutcome[] = [];
  /** Whether the queue may hold due work this worker has not claimed. */
  /**
   * Completed values (for events) and the errors of failed attempts (for
   * logs), kept until their settlement is written.
   */
  readonly #values = new WeakMap<Attempt, unknown>();
  #dirty = true;
  /** Counts `#markDirty` calls, so a claim can tell if one came meanwhile. */
  #signals = 0;
  #recoverDue = true;
  #running = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #wakeLoop: (() => void) | undefined;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #scheduledWake:
    | { at: number; timer: ReturnType<typeof setTimeout> }
    | undefined;
  #unsubscribe: Unsubscribe | undefined;
  #idleWaiters: Array<() => void> = [];
  #done: Promise<void> = Promise.resolve();
  #resolveDone: () => void = () => {};
  #startedAt = 0;
  #consecutiveErrors = 0;
  #pastShutdownDeadline = false;
  /** The stop's deadline timer, while a stop() waits for running tasks. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** Claims left in this run's `maxTasks` budget (Infinity: no limit). */
  #budget = Infinity;
  /** Why the current or last run stops; the first cause wins. */
  #stopReason: StopReason | undefined;
  readonly #counters = {
    completed: 0,
    failed: 0,
    retried: 0,
    durationTotal: 0,
  };

  /**
   * Creates a worker; nothing runs until `start()`.
   *
   * @param backend The backend to claim from, e.g. the queue's.
   * @param options The tasks to run and how; see {@linkcode WorkerOptions}.
   * @throws {TypeError | RangeError} If an option is invalid.
   */
  constructor(backend: Backend, options: WorkerOptions) {
    if (typeof backend !== "object" || backend === null) {
      throw new TypeError(
        `Cannot create Worker as 'backend' must be a backend such as new SQLiteBackend("tasks.db"): current value is ${
          String(backend)
        }`,
      );
    }
    checkWorkerOptions(options);
    checkWorkerInputs(backend, options);
    this.backend = backend;
    this.#taskList = options.tasks;
    this.#bindTasks("create Worker");
    this.concurrency = options.concurrency ?? options.maxConcurrency ?? 1;
    this.#pollInterval = options.pollInterval ?? 1000;
    this.#leaseDuration = options.leaseDuration ?? 30_000;
    this.#heartbeatInterval = options.heartbeatInterval ??
      this.#leaseDuration / 3;
    this.#shutdownTimeout = options.shutdownTimeout ?? 30_000;
    this.#serializer = options.serializer ?? new SuperJsonSerializer();
    this.#clock = options.clock ?? systemClock;
    this.#logger = guardLogger(options.logger ?? silentLogger);
    this.#maxTasks = options.maxTasks ?? Infinity;
    this.id = options.workerId ?? defaultWorkerId();
    this.#unhandled = new UnhandledWork(backend, {
      workerId: this.id,
      logger: this.#logger,
      interval: 10 * this.#pollInterval,
    });
    this.#events = new TypedEmitter<WorkerEvents>((error) =>
      this.#logger.error?.(
        { workerId: this.id, err: error },
        "a worker event listener threw",
      )
    );
  }

  /**
   * Listens for an event; returns a function that stops listening.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * queue.task("noop", () => {});
   * const worker = queue.worker();
   * const off = worker.on("failed", ({ id, error }) => console.error(id, error.message));
   * off();
   * await queue.close();
   * ```
   *
   * @param event `completed`, `failed`, `retrying` or `error`.
   * @param listener Called with the event's payload.
   * @returns A function that removes the listener.
   */
  on<Name extends keyof WorkerEvents>(
    event: Name,
    listener: (payload: WorkerEvents[Name]) => void,
  ): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /**
   * A promise that settles when the worker's loop ends: after `stop()`, or
   * by itself once `maxTasks` tasks were claimed and finished (or its
   * backend was closed under it); {@linkcode Worker.stopReason} says which.
   * Resolved before the first `start()`.
   */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Whether the worker is running (started and not yet stopped). */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Why the worker stopped last (see {@linkcode StopReason}): `"maxTasks"`
   * tells a worker started with `start()` that its budget was spent.
   * `undefined` before the first stop and while running; set as soon as a
   * stop begins, so it reads the same during the drain and after `done`.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * await queue.enqueueMany(noop, [[], [], []]);
   * const worker = queue.worker({ maxTasks: 2 });
   * await worker.start();
   * await worker.done;
   * console.log(worker.stopReason); // "maxTasks"
   * console.log(await queue.stats()); // completed: 2, queued: 1
   * await queue.close();
   * ```
   */
  get stopReason(): StopReason | undefined {
    return this.#stopReason;
  }

  /**
   * The task names this worker claims, in the order given. A worker from
   * `queue.worker()` (without `tasks`) reads the queue's tasks when it
   * starts, so this list grows at `start()` with the tasks defined since.
   */
  get taskNames(): readonly string[] {
    return this.#names;
  }

  /**
   * Reads the task list again. `queue.worker()` passes the queue's own
   * list, which grows as tasks are defined: reading it at each start makes
   * the worker run the tasks defined by then, not only those defined before
   * `queue.worker()`.
   */
  #bindTasks(action: string): void {
    checkWorkerTasks(this.#taskList, action);
    this.#tasks = new Map(this.#taskList.map((task) => [task.name, task]));
    this.#names = [...this.#tasks.keys()];
  }

  /**
   * Starts the worker and resolves once it runs; the loop continues in the
   * background until `stop()` (or until `maxTasks` tasks have been claimed
   * and finished, when the worker stops by itself; `done` tells when).
   * Calling it again while running does nothing.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * queue.task("noop", () => {});
   * const worker = queue.worker();
   * await worker.start();
   * await worker.start(); // harmless
   * await worker.stop();
   * await queue.close();
   * ```
   *
   * @throws {DatabaseError} If the backend cannot be opened.
   * @throws {InvalidStateError} If called while the worker is stopping.
   */
  async start(): Promise<void> {
    // Checked before `#running`, which stays true until the loop has ended:
    // returning quietly here would tell the caller a stopping worker runs.
    if (this.#stopping) {
      throw new InvalidStateError(
        `Cannot start worker "${this.id}": it is stopping; await stop() first`,
      );
    }
    if (this.#running) return;
    // One start at a time, and visible to stop(): a stop() that comes while
    // the backend opens must wait for the start and then stop the worker.
    this.#starting ??= this.#startOnce().finally(() => {
      this.#starting = undefined;
    });
    await this.#starting;
  }

  async #startOnce(): Promise<void> {
    this.#bindTasks("start worker");
    await this.backend.open();
    if (this.#running) return;
    this.#running = true;
    this.#budget = this.#maxTasks;
    this.#stopReason = undefined;
    this.#unhandled.start(this.#names);
    this.#dirty = true;
    this.#recoverDue = true;
    this.#startedAt = performance.now();
    this.#done = new Promise((resolve) => this.#resolveDone = resolve);
    this.#unsubscribe = this.backend.subscribe((change) => {
      if (change.type === "settled") return;
      if (change.type === "enqueued" && change.runAt > this.#clock.now()) {
        this.#wakeAt(change.runAt);
        return;
      }
      this.#markDirty();
    });
    this.#armPollTimer();
    this.#heartbeatTimer = setInterval(
      () => void this.#renewLeases(),
      this.#heartbeatInterval,
    );
    this.#logger.info?.({
      workerId: this.id,
      concurrency: this.concurrency,
      tasks: this.#names,
      ...(this.#maxTasks === Infinity ? {} : { maxTasks: this.#maxTasks }),
    }, "worker started");
    this.#loop = this.#runLoop();
  }

  /**
   * Stops the worker gracefully: it stops claiming, lets running tasks
   * finish until the timeout, then aborts their signals (reason
   * `InterruptedError`) and returns their tasks to the queue at once, without
   * counting the attempt. Never closes the backend. Resolves when the worker
   * has stopped; calling it again returns the same promise.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * queue.task("noop", () => {});
   * const worker = queue.worker();
   * await worker.start();
   * await worker.stop({ timeout: 10_000 });
   * await queue.close();
   * ```
   *
   * @param options How long running tasks may take to finish.
   */
  stop(options: StopOptions = {}): Promise<void> {
    checkOptionsObject(options, "stop worker");
    checkKnownKeys(options, ["timeout"], "stop worker");
    if (options.timeout !== undefined) {
      checkTimerDuration(options.timeout, "stop worker", "timeout");
    }
    return this.#requestStop("stop", options.timeout ?? this.#shutdownTimeout);
  }

  /** What stop() does once its options are checked; `reason` is kept if first. */
  #requestStop(reason: StopReason, timeout: number): Promise<void> {
    if (!this.#running && this.#starting !== undefined) {
      // A failed start leaves nothing to stop.
      return this.#starting.then(
        () => this.#requestStop(reason, timeout),
        () => {},
      );
    }
    if (!this.#running) return this.#stopped ?? Promise.resolve();
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopping = true;
    this.#stopReason ??= reason;
    this.#stopped = this.#shutdown(timeout);
    return this.#stopped;
  }

  /**
   * Runs the worker until it is told to stop, then stops it gracefully, and
   * resolves with why: the form a worker script uses. It stops on
   *
   * - SIGINT (Ctrl+C) or SIGTERM: gracefully, logging at `info` how long it
   *   waits for running tasks. A second SIGINT or SIGTERM stops at once: the
   *   running tasks are interrupted (their signals abort with
   *   `InterruptedError`) and queued again without counting the attempt,
   *   as at the deadline of `stop()`. After that the signal listeners are
   *   gone, so a third signal ends the process the runtime's default way.
   * - `duration` milliseconds after the call, or when `signal` aborts.
   * - `maxTasks` (a {@linkcode WorkerOptions} option) claimed and finished.
   * - a `stop()` from elsewhere.
   *
   * Every graceful stop lets running tasks finish for up to `timeout` ms
   * (default: the worker's `shutdownTimeout`). The signal listeners, the
   * timer and the abort listener are removed when it returns, so a process
   * whose queue is closed afterwards can exit by itself. Starts the worker
   * if it is not running yet.
   *
   * @example A worker script
   * ```ts ignore
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend("tasks.db"));
   * queue.task("resize", (path: string) => path);
   * const reason = await queue.worker({ concurrency: 4 }).run();
   * console.log(`worker stopped: ${reason}`); // "SIGINT", "SIGTERM", ...
   * await queue.close();
   * ```
   *
   * @example For a minute, or at most 100 tasks
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * await queue.enqueueMany(noop, [[], [], []]);
   * const worker = queue.worker({ maxTasks: 100 });
   * const controller = new AbortController();
   * setTimeout(() => controller.abort(), 50);
   * const reason = await worker.run({
   *   duration: 60_000,
   *   signal: controller.signal,
   *   timeout: 5_000,
   * });
   * console.log(reason); // "aborted"
   * await queue.close();
   * ```
   *
   * @param options `timeout` for the graceful stop, and the optional
   *   `duration` and `signal` that end the run; see {@linkcode WorkerRunOptions}.
   * @returns Why the worker stopped; see {@linkcode StopReason}.
   * @throws {TypeError | RangeError} If an option is invalid (unknown key,
   *   a duration that is not a number of milliseconds in 0..2147483647, a
   *   `signal` that is not an AbortSignal), before anything starts.
   * @throws {DatabaseError} If the backend cannot be opened.
   * @throws {InvalidStateError} If called while the worker is stopping.
   */
  async run(options: WorkerRunOptions = {}): Promise<StopReason> {
    checkRunOptions(options);
    const timeout = options.timeout ?? this.#shutdownTimeout;
    await this.start();
    const cleanup: Array<() => void> = [];
    let received = 0;
    const removeSignalListeners = onShutdownSignal((signal) => {
      // A throw here would crash Node and Deno (or be lost on Bun) while the
      // process tries to stop, leaving running tasks to their lease expiry.
      try {
        received++;
        if (received === 1) {
          this.#logger.info?.(
            {
              workerId: this.id,
              signal,
              timeout,
              running: this.#runningCount(),
            },
            `shutdown signal received (${signal}): stopping; running tasks have up to ${timeout} ms to finish (send ${signal} again to stop at once)`,
          );
          this.#requestStop(signal, timeout).catch(() => {});
          return;
        }
        this.#logger.warn?.(
          { workerId: this.id, signal, interrupted: this.#runningCount() },
          `shutdown signal received again (${signal}): stopping at once; running tasks are interrupted and queued again`,
        );
        // A third signal should end the process however this one went.
        removeSignalListeners();
        this.#stopNow(signal);
      } catch (error) {
        this.#logger.error?.(
          { workerId: this.id, signal, err: coerceError(error) },
          "could not handle a shutdown signal",
        );
      }
    });
    cleanup.push(removeSignalListeners);
    if (options.duration !== undefined) {
      const timer = setTimeout(() => {
        this.#logger.info?.(
          { workerId: this.id, duration: options.duration, timeout },
          "run duration elapsed: stopping",
        );
        this.#requestStop("duration", timeout).catch(() => {});
      }, options.duration);
      cleanup.push(() => clearTimeout(timer));
    }
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => {
        this.#logger.info?.(
          { workerId: this.id, timeout },
          "run signal aborted: stopping",
        );
        this.#requestStop("aborted", timeout).catch(() => {});
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        cleanup.push(() => signal.removeEventListener("abort", onAbort));
      }
    }
    try {
      await this.#done;
    } finally {
      for (const undo of cleanup) undo();
    }
    return this.#stopReason ?? "stop";
  }

  /**
   * Stops at once: as if the stop's deadline had passed now. Starts a stop
   * first if none is under way (a worker draining its `maxTasks`).
   */
  #stopNow(reason: StopReason): void {
    if (!this.#running) return;
    if (this.#stopped === undefined) {
      this.#requestStop(reason, 0).catch(() => {});
    }
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    this.#interruptRunning();
  }

  /** Tasks whose handler is running (their outcome not yet decided). */
  #runningCount(): number {
    let count = 0;
    for (const attempt of this.#active.values()) if (!attempt.done) count++;
    return count;
  }

  /**
   * Resolves when the worker has nothing to do: no task running or waiting
   * to be written, and its last claim found no due task. Tasks enqueued in
   * this process before the call are counted; those of other processes once
   * the backend has noticed them. Resolves at once if the worker is not
   * running.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * await queue.enqueueMany(noop, [[], [], []]);
   * const worker = queue.worker();
   * await worker.start();
   * await worker.onIdle();
   * console.log(await queue.stats()); // completed: 3
   * await worker.stop();
   * await queue.close();
   * ```
   */
  onIdle(): Promise<void> {
    if (!this.#running || this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Claims one due task, runs it to the end and stores its outcome, without
   * starting the loop (GigQ's `process_one`). Useful in scripts and tests.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const noop = queue.task("noop", () => {});
   * await queue.enqueue(noop);
   * const worker = queue.worker();
   * console.log(await worker.processOne()); // true
   * console.log(await worker.processOne()); // false
   * await queue.close();
   * ```
   *
   * @returns Whether a task was run.
   * @throws {InvalidStateError} If the worker is running.
   */
  async processOne(): Promise<boolean> {
    if (this.#running) {
      throw new InvalidStateError(
        `Cannot call processOne() on worker "${this.id}" while it runs; stop it first`,
      );
    }
    this.#bindTasks("run processOne()");
    await this.backend.recoverExpiredLeases(
      this.#clock.now(),
      JSON.stringify(this.#leaseExpiredError()),
    );
    const { claimed } = await this.backend.settleAndClaim(
      [],
      this.#claimRequest(1),
    );
    const [task] = claimed;
    if (task === undefined) return false;
    const heartbeat = setInterval(
      () => void this.#renewLeases(),
      this.#heartbeatInterval,
    );
    try {
      await this.#startAttempt(task).finished;
      await this.#writePending();
    } finally {
      clearInterval(heartbeat);
    }
    return true;
  }

  /**
   * What the worker has done since it started.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * queue.task("noop", () => {});
   * const worker = queue.worker();
   * console.log(worker.stats().completed); // 0
   * await queue.close();
   * ```
   */
  stats(): WorkerStats {
    const uptime = this.#startedAt === 0
      ? 0
      : performance.now() - this.#startedAt;
    const finished = this.#counters.completed + this.#counters.failed +
      this.#counters.retried;
    const current = [...this.#active.values()].filter((attempt) =>
      !attempt.done
    );
    return {
      running: this.#running,
      active: current.length,
      currentTasks: current.map((attempt) => attempt.claimed.id as TaskId),
      completed: this.#counters.completed,
      failed: this.#counters.failed,
      retried: this.#counters.retried,
      uptime,
      tasksPerSecond: uptime > 0 ? finished / (uptime / 1000) : 0,
      averageDuration: finished > 0
        ? this.#counters.durationTotal / finished
        : 0,
    };
  }

  /** Stops the worker (`await using worker = ...`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  // ---- the loop ----------------------------------------------------------

  async #runLoop(): Promise<void> {
    try {
      await this.#loopUntilStopped();
    } finally {
      if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
      if (this.#scheduledWake !== undefined) {
        clearTimeout(this.#scheduledWake.timer);
      }
      this.#scheduledWake = undefined;
      if (this.#heartbeatTimer !== undefined) {
        clearInterval(this.#heartbeatTimer);
      }
      this.#unsubscribe?.();
      this.#unhandled.stop();
      this.#running = false;
      this.#stopping = false;
      this.#stopReason ??= "stop";
      this.#notifyIdle();
      this.#logger.info?.({
        workerId: this.id,
        reason: this.#stopReason,
        ...this.#counters,
      }, "worker stopped");
      this.#resolveDone();
    }
  }

  async #loopUntilStopped(): Promise<void> {
    while (true) {
      // Outcomes waiting to be written free their slots in the same
      // transaction as the claim. Never ask for more than the maxTasks
      // budget has left: a claim cannot be taken back once its handler runs.
      const free = Math.min(
        this.concurrency - this.#active.size + this.#pending.length,
        this.#budget,
      );
      const claim = !this.#stopping && this.#dirty && free > 0;
      if (this.#stopping && this.#active.size === 0) break;
      if (this.#recoverDue && !this.#stopping) {
        this.#recoverDue = false;
        await this.#guard(() => this.#recoverExpired());
        continue;
      }
      if (claim || this.#pending.length > 0) {
        await this.#guard(() => this.#tick(claim ? free : 0));
        continue;
      }
      if (this.#isIdle()) this.#notifyIdle();
      await new Promise<void>((resolve) => this.#wakeLoop = resolve);
      this.#wakeLoop = undefined;
    }
  }

  async #tick(limit: number): Promise<void> {
    const claimRequest = limit > 0 ? this.#claimRequest(limit) : undefined;
    const signals = this.#signals;
    const claimed = await this.#writePending(claimRequest);
    if (claimRequest === undefined) return;
    // A full batch means there may be more; a short one means the queue is
    // drained of due work until something signals otherwise. A signal that
    // arrived while the claim was in flight (a task committed just after the
    // claim's transaction) must survive, or it is lost until the next poll.
    this.#dirty = claimed.length === limit || this.#signals !== signals;
    this.#budget -= claimed.length;
    for (const task of claimed) this.#startAttempt(task);
    if (claimed.length > 0) {
      this.#logger.debug?.({
        workerId: this.id,
        taskIds: claimed.map((task) => task.id),
      }, "claimed tasks");
    }
    if (this.#budget <= 0 && !this.#stopping) {
      // The budget is spent: claim nothing more and end the loop once these
      // are written, with no deadline (they are within the budget). A stop()
      // meanwhile brings its deadline as usual.
      this.#stopping = true;
      this.#stopReason ??= "maxTasks";
      this.#logger.info?.({
        workerId: this.id,
        maxTasks: this.#maxTasks,
        running: this.#runningCount(),
      }, "worker claimed maxTasks tasks: stopping once they finish");
    }
    // Its own due work is done: look for due work nobody here handles.
    if (claimed.length < limit) await this.#unhandled.check(claimRequest.now);
  }

  /**
   * Writes every decided outcome (and claims, if asked) in one transaction.
   * On failure the outcomes stay pending, to be written by the next try.
   */
  async #writePending(claimRequest?: ClaimRequest): Promise<ClaimedTask[]> {
    const batch = this.#pending;
    this.#pending = [];
    let result: Awaited<ReturnType<Backend["settleAndClaim"]>>;
    try {
      result = await this.backend.settleAndClaim(
        batch.map((entry) => entry.settlement),
        claimRequest,
      );
    } catch (error) {
      this.#pending = batch.concat(this.#pending);
      throw error;
    }
    batch.forEach((entry, index) => {
      this.#forget(entry.attempt);
      this.#report(
        entry.attempt,
        entry.settlement,
        result.applied[index] ?? false,
      );
    });
    return result.claimed;
  }

  async #recoverExpired(): Promise<void> {
    const recovered = await this.backend.recoverExpiredLeases(
      this.#clock.now(),
      JSON.stringify(this.#leaseExpiredError()),
    );
    if (recovered.length > 0) {
      this.#logger.warn?.({
        workerId: this.id,
        taskIds: recovered,
      }, "recovered tasks whose lease expired");
      this.#dirty = true;
    }
  }

  /** Runs one loop step; on error reports it and backs off, never dying. */
  async #guard(step: () => Promise<void>): Promise<void> {
    try {
      await step();
      this.#consecutiveErrors = 0;
    } catch (thrown) {
      const error = coerceError(thrown);
      this.#consecutiveErrors++;
      this.#logger.error?.({
        workerId: this.id,
        err: error,
        consecutiveErrors: this.#consecutiveErrors,
      }, "worker loop step failed; retrying");
      this.#events.emit("error", { error });
      const closed = error instanceof SitqError && error.code === "CLOSED";
      if (
        closed ||
        (this.#pastShutdownDeadline &&
          this.#consecutiveErrors >= SHUTDOWN_WRITE_ATTEMPTS)
      ) {
        // Nothing can be written (the backend is closed, or the database
        // kept failing after the stop deadline): give up rather than hang
        // stop(). The leases of these tasks expire and any worker recovers
        // them, so nothing is lost.
        this.#abandon();
        return;
      }
      const delay = Math.min(
        MAX_ERROR_BACKOFF,
        50 * 2 ** Math.min(this.#consecutiveErrors - 1, 10),
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wakeLoop = () => {
          if (this.#stopping && this.#pending.length === 0) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      this.#wakeLoop = undefined;
    }
  }

  #abandon(): void {
    this.#stopReason ??= "closed";
    for (const attempt of this.#active.values()) {
      if (!attempt.done) this.#decide(attempt, undefined);
      attempt.controller.abort(new InterruptedError(this.id));
    }
    this.#active.clear();
    this.#pending = [];
    this.#stopping = true;
  }

  #claimRequest(limit: number): ClaimRequest {
    return {
      workerId: this.id,
      names: this.#names,
      limit,
      now: this.#clock.now(),
      leaseDuration: this.#leaseDuration,
    };
  }

  #isIdle(): boolean {
    return this.#active.size === 0 && this.#pending.length === 0 &&
      !this.#dirty && !this.#recoverDue;
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #wake(): void {
    this.#wakeLoop?.();
  }

  #markDirty(): void {
    this.#signals++;
    this.#dirty = true;
    this.#wake();
  }

  #armPollTimer(): void {
    this.#pollTimer = setTimeout(() => {
      this.#recoverDue = true;
      this.#markDirty();
      this.#armPollTimer();
    }, this.#pollInterval);
  }

  /** Wakes the loop when a task delayed until `at` comes due. */
  #wakeAt(at: number): void {
    if (this.#scheduledWake !== undefined && this.#scheduledWake.at <= at) {
      return;
    }
    if (this.#scheduledWake !== undefined) {
      clearTimeout(this.#scheduledWake.timer);
    }
    const delay = Math.max(0, at - this.#clock.now());
    if (delay >= this.#pollInterval) return; // the poll timer comes first
    const timer = setTimeout(() => {
      this.#scheduledWake = undefined;
      this.#markDirty();
    }, delay);
    this.#scheduledWake = { at, timer };
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#logger.info?.({
      workerId: this.id,
      reason: this.#stopReason,
      running: this.#runningCount(),
      timeout,
    }, "worker stopping");
    this.#wake();
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      this.#interruptRunning();
    }, timeout);
    try {
      await this.#loop;
    } finally {
      if (this.#deadline !== undefined) clearTimeout(this.#deadline);
      this.#deadline = undefined;
      this.#stopped = undefined;
      this.#pastShutdownDeadline = false;
    }
  }

  /**
   * The stop's deadline: aborts every running handler and gives its task
   * back to the queue at once, the attempt not counted.
   */
  #interruptRunning(): void {
    this.#pastShutdownDeadline = true;
    for (const attempt of this.#active.values()) {
      if (attempt.done) continue;
      const reason = new InterruptedError(this.id);
      this.#decide(attempt, {
        outcome: "interrupted",
        error: storedErrorJson(reason),
      });
      attempt.controller.abort(reason);
    }
  }

  // ---- attempts -----------------------------------------------------------

  #startAttempt(claimed: ClaimedTask): Attempt {
    let resolveFinished: () => void = () => {};
    const finished = new Promise<void>((resolve) => resolveFinished = resolve);
    const attempt: Attempt = {
      claimed,
      task: this.#tasks.get(claimed.name)!,
      controller: new LazyAbortController(),
      startedAt: this.#clock.now(),
      startedMono: performance.now(),
      done: false,
      finished,
      resolveFinished,
    };
    this.#supersede(claimed.id);
    this.#active.set(claimed.id, attempt);
    if (attempt.task === undefined) {
      // Claims filter by name, so this only happens if the table was edited.
      this.#fail(
        attempt,
        new PermanentError(`No handler for task "${claimed.name}"`),
      );
      return attempt;
    }
    let args: unknown;
    try {
      args = this.#serializer.deserialize(claimed.args);
      if (!Array.isArray(args)) {
        throw new TypeError("stored arguments are not a list");
      }
    } catch (error) {
      this.#fail(
        attempt,
        new PermanentError(
          `Cannot read the arguments of task ${claimed.id}: ${
            coerceError(error).message
          }; was it enqueued with another serializer?`,
          { cause: error },
        ),
      );
      return attempt;
    }
    const timeout = claimed.timeout;
    if (timeout !== null) {
      attempt.timeoutTimer = setTimeout(() => {
        const reason = new TaskTimeoutError(claimed.name, timeout);
        this.#fail(attempt, reason, "timed_out");
        attempt.controller.abort(reason);
      }, timeout);
    }
    const context = this.#context(attempt);
    const handler = attempt.task.handler as (
      this: TaskContext,
      ...args: unknown[]
    ) => unknown;
    const list = args as unknown[];
    // Start in a microtask so a synchronous throw is a rejection like any other.
    Promise.resolve()
      .then(() => handler.apply(context, list))
      .then(
        (value) => this.#succeed(attempt, value),
        (error) => this.#fail(attempt, error),
      );
    return attempt;
  }

  /**
   * This worker just claimed task `id`, so the database held it as queued:
   * any older attempt of it here lost its lease meanwhile (an event loop
   * blocked past the lease, say) and is no longer ours to finish. A running
   * one is aborted; an outcome still waiting to be written is dropped, since
   * after a requeue (attempts reset) it could otherwise match the new claim.
   */
  #supersede(id: number): void {
    const previous = this.#active.get(id);
    if (previous !== undefined && !previous.done) {
      const reason = new LeaseLostError(id, this.id);
      this.#decide(previous, undefined);
      previous.controller.abort(reason);
    }
    // Runs for every claimed task: usually nothing is pending by now.
    if (!this.#pending.some((entry) => entry.attempt.claimed.id === id)) return;
    const kept: PendingOutcome[] = [];
    for (const entry of this.#pending) {
      if (entry.attempt.claimed.id !== id) {
        kept.push(entry);
        continue;
      }
      this.#values.delete(entry.attempt);
      this.#logger.warn?.(
        {
          workerId: this.id,
          taskId: id,
          taskName: entry.attempt.claimed.name,
          attempt: entry.settlement.attempt,
        },
        "dropped the unwritten outcome of an attempt superseded by a new claim",
      );
    }
    this.#pending = kept;
  }

  #context(attempt: Attempt): TaskContext {
    const { claimed } = attempt;
    return {
      id: claimed.id as TaskId,
      name: claimed.name,
      attempt: claimed.attempt,
      maxAttempts: claimed.maxAttempts,
      workerId: this.id,
      get signal() {
        return attempt.controller.signal;
      },
      reportProgress: async (progress: unknown) => {
        if (attempt.done) return;
        await this.backend.saveProgress(
          { id: claimed.id, workerId: this.id, attempt: claimed.attempt },
          serializeOrThrow(
            this.#serializer,
            progress,
            `the progress of task ${claimed.id}`,
          ),
        );
      },
    };
  }

  #succeed(attempt: Attempt, value: unknown): void {
    if (attempt.done) return;
    let result: string;
    try {
      result = serializeOrThrow(
        this.#serializer,
        value,
        `the result of task "${attempt.claimed.name}"`,
      );
    } catch (error) {
      // Running it again would repeat its side effects for the same
      // unstorable result, so this failure is final.
      this.#fail(
        attempt,
        new PermanentError((error as SerializationError).message, {
          cause: error,
        }),
      );
      return;
    }
    this.#decide(attempt, { outcome: "completed", result }, value);
  }

  #fail(
    attempt: Attempt,
    thrown: unknown,
    outcome: "failed" | "timed_out" = "failed",
  ): void {
    if (attempt.done) return;
    const error = coerceError(thrown);
    const { claimed } = attempt;
    const final = error instanceof PermanentError ||
      claimed.attempt >= claimed.maxAttempts;
    const retryAt = final
      ? null
      : this.#clock.now() + Math.round(this.#retryDelay(attempt, error));
    // The error rides along as the "value" so the log line can show it whole.
    this.#decide(
      attempt,
      { outcome, error: storedErrorJson(error), retryAt },
      error,
    );
    if (retryAt !== null) this.#wakeAt(retryAt);
  }

  /**
   * The task's backoff before the next attempt. A backoff function that
   * throws must not leave the attempt undecided (its task would stay
   * running for as long as the worker lives): the default backoff stands in.
   */
  #retryDelay(attempt: Attempt, error: Error): number {
    const backoff = attempt.task?.options?.backoff ?? DEFAULT_BACKOFF;
    try {
      return retryDelay(backoff, attempt.claimed.attempt, error);
    } catch (thrown) {
      this.#logger.error?.(
        {
          workerId: this.id,
          taskId: attempt.claimed.id,
          taskName: attempt.claimed.name,
          attempt: attempt.claimed.attempt,
          err: coerceError(thrown),
        },
        "the task's backoff threw; retrying with the default backoff",
      );
      return retryDelay(DEFAULT_BACKOFF, attempt.claimed.attempt, error);
    }
  }

  /**
   * Records an attempt's outcome once; `undefined` drops it unwritten (the
   * lease was lost, so the outcome is no longer ours to write).
   */
  #decide(
    attempt: Attempt,
    outcome: DistributiveOmit<Settlement, keyof SettlementBase> | undefined,
    value?: unknown,
  ): void {
    if (attempt.done) return;
    attempt.done = true;
    if (attempt.timeoutTimer !== undefined) clearTimeout(attempt.timeoutTimer);
    attempt.resolveFinished();
    if (outcome === undefined) {
      this.#forget(attempt);
      this.#wake();
      return;
    }
    const settlement = {
      id: attempt.claimed.id,
      attempt: attempt.claimed.attempt,
      workerId: this.id,
      startedAt: attempt.startedAt,
      finishedAt: this.#clock.now(),
      ...outcome,
    } as Settlement;
    this.#pending.push({ attempt, settlement });
    this.#values.set(attempt, value);
    this.#wake();
  }

  /**
   * Drops an attempt from `#active`, unless the entry for its task is
   * already a newer attempt (this worker claimed the task again after its
   * own lease expired).
   */
  #forget(attempt: Attempt): void {
    const id = attempt.claimed.id;
    if (this.#active.get(id) === attempt) this.#active.delete(id);
  }

  #report(attempt: Attempt, settlement: Settlement, applied: boolean): void {
    const value = this.#values.get(attempt);
    this.#values.delete(attempt);
    if (!applied) {
      this.#logger.warn?.(
        {
          workerId: this.id,
          taskId: settlement.id,
          taskName: attempt.claimed.name,
          attempt: settlement.attempt,
          outcome: settlement.outcome,
        },
        "ignored the outcome of an attempt this worker no longer owns",
      );
      return;
    }
    const base: TaskEventBase = {
      id: settlement.id as TaskId,
      name: attempt.claimed.name,
      attempt: settlement.attempt,
      duration: performance.now() - attempt.startedMono,
    };
    if (settlement.outcome === "interrupted") {
      this.#logger.warn?.(
        this.#taskLogData(attempt, base),
        "task interrupted by the stop; queued again, the attempt not counted",
      );
      return;
    }
    this.#counters.durationTotal += base.duration;
    if (settlement.outcome === "completed") {
      this.#counters.completed++;
      this.#logger.debug?.(this.#taskLogData(attempt, base), "task completed");
      if (this.#events.has("completed")) {
        this.#events.emit("completed", { ...base, value });
      }
      return;
    }
    const error = JSON.parse(settlement.error) as StoredError;
    // The thrown error itself when this worker has it (its stack and cause
    // print in full), else the stored form.
    const err = value instanceof Error ? value : error;
    const timedOut = settlement.outcome === "timed_out";
    const timeout = timedOut ? { timeout: attempt.claimed.timeout } : {};
    if (settlement.retryAt === null) {
      this.#counters.failed++;
      this.#logger.error?.(
        { ...this.#taskLogData(attempt, base), ...timeout, err },
        timedOut ? "task timed out and failed" : "task failed",
      );
      this.#events.emit("failed", { ...base, error });
    } else {
      this.#counters.retried++;
      const retryAt = new Date(settlement.retryAt);
      this.#logger.warn?.(
        { ...this.#taskLogData(attempt, base), ...timeout, retryAt, err },
        timedOut
          ? "task attempt timed out; retrying"
          : "task attempt failed; retrying",
      );
      this.#events.emit("retrying", { ...base, error, retryAt });
    }
  }

  /** The fields every log line about one attempt carries. */
  #taskLogData(attempt: Attempt, base: TaskEventBase): LogData {
    return {
      workerId: this.id,
      taskId: base.id,
      taskName: base.name,
      attempt: base.attempt,
      maxAttempts: attempt.claimed.maxAttempts,
      duration: Math.round(base.duration),
    };
  }

  async #renewLeases(): Promise<void> {
    // Decided attempts still hold their lease until their outcome is
    // written: renewing them keeps a slow or failing write from letting
    // another worker run a task that has in fact finished.
    const held = [...this.#active.values()];
    if (held.length === 0) return;
    let owned: Set<number>;
    try {
      owned = await this.backend.renewLeases(
        held.map((attempt) => ({
          id: attempt.claimed.id,
          workerId: this.id,
          attempt: attempt.claimed.attempt,
        })),
        this.#clock.now() + this.#leaseDuration,
      );
    } catch (thrown) {
      // The next heartbeat tries again; the lease has slack for that.
      this.#events.emit("error", { error: coerceError(thrown) });
      return;
    }
    for (const attempt of held) {
      if (owned.has(attempt.claimed.id) || attempt.done) continue;
      const reason = new LeaseLostError(attempt.claimed.id, this.id);
      this.#logger.warn?.(
        {
          workerId: this.id,
          taskId: attempt.claimed.id,
          taskName: attempt.claimed.name,
          attempt: attempt.claimed.attempt,
        },
        reason.message,
      );
      this.#events.emit("error", { error: reason });
      this.#decide(attempt, undefined);
      attempt.controller.abort(reason);
    }
  }

  #leaseExpiredError(): StoredError {
    return {
      name: "LeaseExpiredError",
      message:
        "The worker running this attempt stopped renewing its lease (it crashed, was killed or froze); the attempt counts as failed",
    };
  }
}

type SettlementBase = {
  id: number;
  attempt: number;
  workerId: string;
  startedAt: number;
  finishedAt: number;
};

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K>
  : never;
