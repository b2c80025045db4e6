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
import { coerceError, toStoredError } from "./coerce_error.ts";
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
import { type Logger, silentLogger } from "./logger.ts";
import { DEFAULT_BACKOFF, retryDelay } from "./retry_policy.ts";
import {
  serializeOrThrow,
  type Serializer,
  SuperJsonSerializer,
} from "./serializer.ts";
import type { Task, TaskContext } from "./task.ts";
import {
  type Clock,
  type StoredError,
  systemClock,
  type TaskId,
} from "./types.ts";
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  checkTimerDuration,
} from "./validate.ts";

/** Any task, whatever its argument and result types. */
export type AnyTask = Task<never, unknown>;

/** Options for {@linkcode Worker}. Durations are in milliseconds. */
export interface WorkerOptions {
  /** The tasks this worker runs; it claims only these names. */
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
   * Where the worker reports what it does.
   *
   * @default {silent}
   */
  logger?: Logger;
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
];
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
  readonly #tasks: Map<string, AnyTask>;
  readonly #names: readonly string[];
  readonly #pollInterval: number;
  readonly #leaseDuration: number;
  readonly #heartbeatInterval: number;
  readonly #shutdownTimeout: number;
  readonly #serializer: Serializer;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #events: TypedEmitter<WorkerEvents>;

  /** Claimed attempts whose settlement is not yet written; each holds a slot. */
  readonly #active = new Map<number, Attempt>();
  /** Outcomes decided but not yet written. */
  #pending: PendingOutcome[] = [];
  /** Whether the queue may hold due work this worker has not claimed. */
  /** Completed values kept until their settlement is written, for events. */
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
    this.backend = backend;
    this.#tasks = new Map(options.tasks.map((task) => [task.name, task]));
    this.#names = [...this.#tasks.keys()];
    this.concurrency = options.concurrency ?? options.maxConcurrency ?? 1;
    this.#pollInterval = options.pollInterval ?? 1000;
    this.#leaseDuration = options.leaseDuration ?? 30_000;
    this.#heartbeatInterval = options.heartbeatInterval ??
      this.#leaseDuration / 3;
    this.#shutdownTimeout = options.shutdownTimeout ?? 30_000;
    this.#serializer = options.serializer ?? new SuperJsonSerializer();
    this.#clock = options.clock ?? systemClock;
    this.#logger = guardLogger(options.logger ?? silentLogger);
    this.id = options.workerId ?? defaultWorkerId();
    this.#events = new TypedEmitter<WorkerEvents>((error) =>
      this.#logger.error?.("a worker event listener threw", { error })
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
   * A promise that settles when the worker's loop ends (after `stop()`).
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
   * Starts the worker and resolves once it runs; the loop continues in the
   * background until `stop()`. Calling it again while running does nothing.
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
    await this.backend.open();
    if (this.#running) return;
    this.#running = true;
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
    this.#logger.info?.("worker started", {
      workerId: this.id,
      concurrency: this.concurrency,
      tasks: this.#names,
    });
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
    if (!this.#running && this.#starting !== undefined) {
      // A failed start leaves nothing to stop.
      return this.#starting.then(() => this.stop(options), () => {});
    }
    if (!this.#running) return this.#stopped ?? Promise.resolve();
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopping = true;
    this.#stopped = this.#shutdown(options.timeout ?? this.#shutdownTimeout);
    return this.#stopped;
  }

  /**
   * Runs the worker until SIGINT or SIGTERM, then stops it gracefully: the
   * form a worker script uses.
   *
   * @example A worker script
   * ```ts ignore
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend("tasks.db"));
   * queue.task("resize", (path: string) => path);
   * await queue.worker({ concurrency: 4 }).run();
   * await queue.close();
   * ```
   *
   * @param options How long running tasks may take to finish at the signal.
   */
  async run(options: StopOptions = {}): Promise<void> {
    await this.start();
    const removeSignalListener = onShutdownSignal(() => {
      this.#logger.info?.("shutdown signal received", { workerId: this.id });
      void this.stop(options);
    });
    try {
      await this.#done;
    } finally {
      removeSignalListener();
    }
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
      this.#running = false;
      this.#stopping = false;
      this.#notifyIdle();
      this.#logger.info?.("worker stopped", {
        workerId: this.id,
        ...this.#counters,
      });
      this.#resolveDone();
    }
  }

  async #loopUntilStopped(): Promise<void> {
    while (true) {
      const free = this.concurrency - this.#active.size + this.#pending.length;
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
    for (const task of claimed) this.#startAttempt(task);
    if (claimed.length > 0) {
      this.#logger.debug?.("claimed tasks", {
        workerId: this.id,
        ids: claimed.map((task) => task.id),
      });
    }
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
      this.#logger.warn?.("recovered tasks whose lease expired", {
        workerId: this.id,
        ids: recovered,
      });
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
      this.#logger.error?.("worker loop step failed; retrying", {
        workerId: this.id,
        error,
        consecutiveErrors: this.#consecutiveErrors,
      });
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
    this.#logger.info?.("worker stopping", {
      workerId: this.id,
      running: this.#active.size,
    });
    this.#wake();
    const deadline = setTimeout(() => {
      this.#pastShutdownDeadline = true;
      for (const attempt of this.#active.values()) {
        if (attempt.done) continue;
        const reason = new InterruptedError(this.id);
        this.#decide(attempt, {
          outcome: "interrupted",
          error: JSON.stringify(toStoredError(reason)),
        });
        attempt.controller.abort(reason);
      }
    }, timeout);
    try {
      await this.#loop;
    } finally {
      clearTimeout(deadline);
      this.#stopped = undefined;
      this.#pastShutdownDeadline = false;
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
        "dropped the unwritten outcome of an attempt superseded by a new claim",
        { workerId: this.id, id, attempt: entry.settlement.attempt },
      );
    }
    this.#pending = kept;
  }

  #context(attempt: Attempt): TaskContext {
    const { claimed } = attempt;
    return {
      id: claimed.id as TaskId,
      name: claimed.name,
      attempt: claimed.attempts,
      maxAttempts: claimed.maxAttempts,
      workerId: this.id,
      get signal() {
        return attempt.controller.signal;
      },
      reportProgress: async (progress: unknown) => {
        if (attempt.done) return;
        await this.backend.saveProgress(
          claimed.id,
          claimed.attempts,
          this.id,
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
      claimed.attempts >= claimed.maxAttempts;
    const retryAt = final
      ? null
      : this.#clock.now() + Math.round(this.#retryDelay(attempt, error));
    this.#decide(attempt, { outcome, error: storeError(error), retryAt });
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
      return retryDelay(backoff, attempt.claimed.attempts, error);
    } catch (thrown) {
      this.#logger.error?.(
        "the task's backoff threw; retrying with the default backoff",
        {
          workerId: this.id,
          id: attempt.claimed.id,
          error: coerceError(thrown),
        },
      );
      return retryDelay(DEFAULT_BACKOFF, attempt.claimed.attempts, error);
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
      attempt: attempt.claimed.attempts,
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
        "ignored the outcome of an attempt this worker no longer owns",
        {
          workerId: this.id,
          id: settlement.id,
          attempt: settlement.attempt,
          outcome: settlement.outcome,
        },
      );
      return;
    }
    const base: TaskEventBase = {
      id: settlement.id as TaskId,
      name: attempt.claimed.name,
      attempt: settlement.attempt,
      duration: performance.now() - attempt.startedMono,
    };
    if (settlement.outcome === "interrupted") return;
    this.#counters.durationTotal += base.duration;
    if (settlement.outcome === "completed") {
      this.#counters.completed++;
      if (this.#events.has("completed")) {
        this.#events.emit("completed", { ...base, value });
      }
      return;
    }
    const error = JSON.parse(settlement.error) as StoredError;
    if (settlement.retryAt === null) {
      this.#counters.failed++;
      this.#events.emit("failed", { ...base, error });
    } else {
      this.#counters.retried++;
      this.#events.emit("retrying", {
        ...base,
        error,
        retryAt: new Date(settlement.retryAt),
      });
    }
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
        this.id,
        held.map((attempt) => ({
          id: attempt.claimed.id,
          attempt: attempt.claimed.attempts,
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
      this.#logger.warn?.(reason.message, { workerId: this.id });
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

/**
 * The user's logger with every call guarded: a logger that throws must not
 * end the worker loop or leave a rejection unhandled.
 */
function guardLogger(logger: Logger): Logger {
  const guarded: Logger = {};
  for (const level of ["debug", "info", "warn", "error"] as const) {
    const log = logger[level];
    if (typeof log !== "function") continue;
    guarded[level] = (message, data) => {
      try {
        log.call(logger, message, data);
      } catch {
        // Nowhere left to report it; the work goes on.
      }
    };
  }
  return guarded;
}

/**
 * An error as stored JSON. An error whose properties throw when read is
 * stored as what could be read, never left unrecorded.
 */
function storeError(error: Error): string {
  try {
    return JSON.stringify(toStoredError(error));
  } catch {
    return JSON.stringify({
      name: "Error",
      message: "The task failed with an error whose details could not be read",
    });
  }
}
