/**
 * The public `Worker`: its options, lifecycle (`start`, `stop`, `run`,
 * `onIdle`, `processOne`), events and stats. The work is done by parts with
 * one job each:
 *
 * - `claim_loop.ts`: the loop that claims into free slots and waits for
 *   work (its modes are listed in its header);
 * - `executor.ts`: one attempt, from its arguments to its decided outcome;
 * - `completer.ts`: outcomes batched into settlements, then events and logs;
 * - `lease_keeper.ts`: heartbeat, lost leases, supersede rule, recovery;
 * - `shutdown.ts`: stop requests, the deadline, `run()`'s triggers;
 * - `unhandled_work.ts`: the warning about due work nobody here handles.
 *
 * `engine.ts` builds them and wires them together (its header draws who
 * calls whom); each sees the backend only as the few functions it is given.
 *
 * @module
 */
import type { Unsubscribe } from "../core/events.ts";
import { InvalidStateError } from "../core/errors.ts";
import { guardLogger, silentLogger } from "../core/logger.ts";
import { tracingLookup } from "../ops/instrument.ts";
import { processId } from "../runtime/process.ts";
import type { Backend } from "../storage/backend.ts";
import { buildEngine, type Engine } from "./engine.ts";
import { registerRunning } from "./running_workers.ts";
import { workerStats } from "./worker_stats.ts";
import type {
  StopOptions,
  StopReason,
  WorkerEvents,
  WorkerOptions,
  WorkerRunOptions,
  WorkerStats,
} from "./types.ts";
import {
  checkRunOptions,
  checkStopOptions,
  checkWorkerArguments,
} from "./worker_checks.ts";

/** `worker-<pid>-<random>`, or `worker-<random>` without a process id. */
function defaultWorkerId(): string {
  const random = crypto.randomUUID().slice(0, 8);
  const pid = processId();
  return pid === undefined ? `worker-${random}` : `worker-${pid}-${random}`;
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
  readonly #shutdownTimeout: number;
  readonly #engine: Engine;

  /**
   * Creates a worker; nothing runs until `start()`.
   *
   * @param backend The backend to claim from, e.g. the queue's.
   * @param options The tasks to run and how; see {@linkcode WorkerOptions}.
   * @throws {TypeError | RangeError} If an option is invalid.
   */
  constructor(backend: Backend, options: WorkerOptions) {
    checkWorkerArguments(backend, options);
    this.backend = backend;
    this.concurrency = options.concurrency ?? options.maxConcurrency ?? 1;
    this.#shutdownTimeout = options.shutdownTimeout ?? 30_000;
    this.id = options.workerId ?? defaultWorkerId();
    this.#engine = buildEngine(backend, options, {
      workerId: this.id,
      concurrency: this.concurrency,
      logger: guardLogger(options.logger ?? silentLogger),
    });
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
    return this.#engine.events.on(event, listener);
  }

  /**
   * A promise that settles when the worker's loop ends: after `stop()`, or
   * by itself once `maxTasks` tasks were claimed and finished (or its
   * backend was closed under it); {@linkcode Worker.stopReason} says which.
   * Its worker threads (for thread tasks) have exited by then. Resolved
   * before the first `start()`.
   */
  get done(): Promise<void> {
    return this.#engine.loop.done;
  }

  /** Whether the worker is running (started and not yet stopped). */
  get running(): boolean {
    return this.#engine.loop.running;
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
    return this.#engine.loop.stopReason;
  }

  /**
   * The task names this worker claims, in the order given. A worker from
   * `queue.worker()` (without `tasks`) reads the queue's tasks when it
   * starts, so this list grows at `start()` with the tasks defined since.
   */
  get taskNames(): readonly string[] {
    return this.#engine.executor.names;
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
  start(): Promise<void> {
    return this.#start();
  }

  async #start(stopBeforeClaim?: StopReason): Promise<void> {
    // Once per process: @opentelemetry/api, if installed (ops/tracing.ts).
    const lookup = tracingLookup();
    if (lookup !== undefined) await lookup;
    await this.#engine.loop.start(stopBeforeClaim);
    // Seen by queue.close(), which stops it before closing the backend.
    if (this.#engine.loop.running) {
      registerRunning(this.backend, this, this.#engine.loop.done);
    }
  }

  /**
   * Stops the worker gracefully: it stops claiming, lets running tasks
   * finish until the timeout, then aborts their signals (reason
   * `InterruptedError`) and returns their tasks to the queue at once, without
   * counting the attempt; a thread task's thread is terminated then. Never
   * closes the backend. Resolves when the worker has stopped and its
   * threads have exited; calling it again returns the same promise.
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
    checkStopOptions(options);
    return this.#engine.shutdown.request(
      "stop",
      options.timeout ?? this.#shutdownTimeout,
    );
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
   *   With `duration: 0` or a `signal` already aborted, a worker not yet
   *   running claims nothing: it opens the backend and stops.
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
    // A trigger that has fired at the call stops the run before its first
    // claim: "for 0 ms" runs nothing.
    const dueNow = options.duration === 0
      ? "duration"
      : options.signal?.aborted === true
      ? "aborted"
      : undefined;
    await this.#start(dueNow);
    const unwatch = this.#engine.shutdown.watch(options, timeout);
    try {
      await this.#engine.loop.done;
    } finally {
      unwatch();
    }
    return this.#engine.loop.stopReason ?? "stop";
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
    return this.#engine.loop.whenIdle();
  }

  /**
   * Claims one due task, runs it to the end and stores its outcome, without
   * starting the loop: the loop's own recovery of expired leases, claim and
   * heartbeat, for one task. Useful in scripts and tests.
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
  processOne(): Promise<boolean> {
    if (this.#engine.loop.running) {
      return Promise.reject(
        new InvalidStateError(
          `Cannot call processOne() on worker "${this.id}" while it runs; stop it first`,
        ),
      );
    }
    return this.#engine.loop.processOne();
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
    return workerStats(this.#engine);
  }

  /** Stops the worker (`await using worker = ...`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
