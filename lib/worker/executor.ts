/**
 * Running attempts: for each claimed task, its arguments, its context, its
 * timeout and its handler, up to a decided outcome. Nothing here touches
 * storage except through the one function it is given for progress: what
 * an outcome becomes in the database is the completer's job, and whether
 * this worker still owns the attempt is the lease keeper's.
 *
 * An attempt's life: `start()` holds it (one of the worker's slots) and
 * calls its handler in a microtask; its outcome is decided exactly once, by
 * the first of the handler's return or throw, its timeout, the stop's
 * deadline (interrupted) or a lost lease (dropped, nothing written); later
 * ones are ignored. A decided attempt stays held, and keeps its lease
 * renewed, until its outcome is written (`forget()`), so a slow write never
 * lets another worker run a task that has in fact finished.
 *
 * @module
 */
import { coerceError } from "../core/coerce_error.ts";
import {
  InterruptedError,
  PermanentError,
  SerializationError,
  TaskTimeoutError,
} from "../core/errors.ts";
import { LazyAbortController } from "../core/lazy_abort.ts";
import type { Logger } from "../core/logger.ts";
import { DEFAULT_BACKOFF, retryDelay } from "../core/retry_policy.ts";
import { serializeOrThrow, type Serializer } from "../core/serializer.ts";
import { storedErrorJson } from "../core/stored_error.ts";
import type { TaskContext } from "../core/task.ts";
import type { Clock, TaskId } from "../core/types.ts";
import type {
  ClaimedTask,
  FencingToken,
  ParentRow,
  Settlement,
} from "../storage/backend.ts";
import { AttemptContext, type ContextShared } from "./task_context.ts";
import type { ThreadRunner } from "./threads/thread_runner.ts";
import type { AnyTask } from "./types.ts";
import { checkWorkerTasks } from "./worker_checks.ts";
import {
  attemptDecided,
  attemptStarted,
  runAttempt,
} from "../ops/instrument.ts";

/** One claimed attempt, from its claim until its outcome is written. */
export interface Attempt {
  /** The claim: the task's row and the attempt's number. */
  readonly claimed: ClaimedTask;
  /** Its handler's task; undefined only if the table was edited by hand. */
  readonly task: AnyTask | undefined;
  /** Aborts the handler's signal (timeout, stop, lost lease). */
  readonly controller: LazyAbortController;
  /** Epoch ms by the worker's clock, stored as the attempt's start. */
  readonly startedAt: number;
  /** Real-time start, for durations, independent of an injected clock. */
  readonly startedMono: number;
  /** Set once the attempt's outcome is decided; later outcomes are ignored. */
  done: boolean;
  /** The attempt's timeout timer, while it runs. */
  timeoutTimer?: ReturnType<typeof setTimeout>;
  /** Resolves when the attempt's outcome is decided. */
  readonly finished: Promise<void>;
  /** Resolves `finished`. */
  readonly resolveFinished: () => void;
}

/** The settled promise whose then() starts handlers (see `start`). */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * An {@linkcode Attempt}, its `finished` promise made only when someone
 * awaits it (`processOne()`): the loop learns of outcomes through
 * `onDecided`, so a promise per attempt would be made for nobody.
 */
class HeldAttempt implements Attempt {
  readonly controller: LazyAbortController = new LazyAbortController();
  done = false;
  timeoutTimer?: ReturnType<typeof setTimeout>;
  #finished: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  constructor(
    readonly claimed: ClaimedTask,
    readonly task: AnyTask | undefined,
    readonly startedAt: number,
    readonly startedMono: number,
  ) {}

  get finished(): Promise<void> {
    if (this.#finished === undefined) {
      this.#finished = this.done
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.#resolve = resolve);
    }
    return this.#finished;
  }

  resolveFinished(): void {
    this.#resolve?.();
  }
}

/** What a {@linkcode Settlement} adds to an outcome: its token and times. */
type SettlementBase = FencingToken & { startedAt: number; finishedAt: number };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K>
  : never;

/** An attempt's decided outcome: a settlement without its token and times. */
export type Outcome = DistributiveOmit<Settlement, keyof SettlementBase>;

/** What the executor needs from the worker around it. */
export interface ExecutorOptions {
  /** The worker's id: the lease owner, and the context's `workerId`. */
  workerId: string;
  /** The task list as given; read again by {@linkcode Executor.bind}. */
  tasks: readonly AnyTask[];
  /** Reads arguments, writes results and progress. */
  serializer: Serializer;
  /** Times of attempts and retries. */
  clock: Clock;
  /** For a backoff function that throws. */
  logger: Logger;
  /** Stores a progress value while `token` holds. */
  saveProgress(token: FencingToken, progress: string): Promise<boolean>;
  /** Reads a task's parents, for its context (`parent_results.ts`). */
  readParents(id: number): Promise<ParentRow[]>;
  /**
   * Called once per attempt when its outcome is decided; `undefined` means
   * dropped unwritten (the lease was lost). `value` is the handler's result,
   * or the error a failed attempt threw, for events and logs.
   */
  onDecided(
    attempt: Attempt,
    outcome: Outcome | undefined,
    value: unknown,
  ): void;
  /** A failed attempt will be retried at `at` (epoch ms). */
  onRetryAt(at: number): void;
  /**
   * Runs the handlers that live in a module (`threadModule()`) in worker
   * threads; every other handler runs on the event loop, here.
   */
  threads: ThreadRunner;
}

/**
 * Runs claimed attempts and holds them until their outcomes are written:
 * `held` is what counts against the worker's concurrency.
 */
export class Executor {
  /** Held attempts by task id: running, or decided and not yet written. */
  readonly held: Map<number, Attempt> = new Map();
  readonly #options: ExecutorOptions;
  /** What every attempt's context shares. */
  readonly #shared: ContextShared;
  /** The tasks read from the list at the last `bind()`, by name. */
  #tasks = new Map<string, AnyTask>();
  #names: readonly string[] = [];

  /** @param options The worker's parts this one calls. */
  constructor(options: ExecutorOptions) {
    this.#options = options;
    this.#shared = {
      workerId: options.workerId,
      serializer: options.serializer,
      saveProgress: options.saveProgress,
      readParents: options.readParents,
    };
  }

  /** The task names bound at the last {@linkcode Executor.bind}, in order. */
  get names(): readonly string[] {
    return this.#names;
  }

  /**
   * Reads the task list again. `queue.worker()` passes the queue's own
   * list, which grows as tasks are defined: reading it at each start makes
   * the worker run the tasks defined by then, not only those defined before
   * `queue.worker()`.
   *
   * @throws {TypeError | RangeError} If the list is no longer valid.
   */
  bind(action: string): void {
    checkWorkerTasks(this.#options.tasks, action);
    this.#options.threads.check(this.#options.tasks, action);
    this.#tasks = new Map(this.#options.tasks.map((task) => [task.name, task]));
    this.#names = [...this.#tasks.keys()];
  }

  /** How many held attempts are still running (outcome not yet decided). */
  runningCount(): number {
    let count = 0;
    for (const attempt of this.held.values()) if (!attempt.done) count++;
    return count;
  }

  /** The ids of the running attempts. */
  runningIds(): TaskId[] {
    const ids: TaskId[] = [];
    for (const attempt of this.held.values()) {
      if (!attempt.done) ids.push(attempt.claimed.id as TaskId);
    }
    return ids;
  }

  /**
   * Holds a claimed attempt and starts its handler in a microtask; returns
   * the attempt (its `finished` settles once its outcome is decided).
   */
  start(claimed: ClaimedTask): Attempt {
    const task = this.#tasks.get(claimed.name);
    const attempt = new HeldAttempt(
      claimed,
      task,
      this.#options.clock.now(),
      performance.now(),
    );
    this.held.set(claimed.id, attempt);
    attemptStarted(attempt);
    if (task === undefined) {
      // Claims filter by name, so this only happens if the table was edited.
      this.#fail(
        attempt,
        new PermanentError(`No handler for task "${claimed.name}"`),
      );
      return attempt;
    }
    const source = this.#options.threads.sourceOf(task);
    if (source !== undefined) {
      // In a thread, which reads the arguments itself; whatever aborts the
      // signal (timeout, stop deadline, lost lease) terminates the thread.
      this.#armTimeout(attempt);
      this.#options.threads.run(attempt, source).then(
        ({ value, text }) => this.#succeed(attempt, value, text),
        (error) => this.#fail(attempt, error),
      );
      return attempt;
    }
    let args: unknown;
    try {
      args = this.#options.serializer.deserialize(claimed.args);
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
    this.#armTimeout(attempt);
    const context = new AttemptContext(attempt, this.#shared);
    const handler = task.handler as (
      this: TaskContext,
      ...args: unknown[]
    ) => unknown;
    const list = args as unknown[];
    // Start in a microtask, never within start(), and treat a synchronous
    // throw as a rejection. A plain value is taken in that same microtask,
    // a promise when it settles: one hop for a synchronous handler, where
    // chaining promises took two more. The hop is a settled promise's
    // then(), not queueMicrotask(): Node wraps each queueMicrotask callback
    // in an AsyncResource, 0.4-0.5 µs more per task on Node 20 and Deno.
    RESOLVED.then(() => {
      let value: unknown;
      try {
        value = runAttempt(attempt, () => handler.apply(context, list));
      } catch (error) {
        this.#fail(attempt, error);
        return;
      }
      if (isThenable(value)) {
        Promise.resolve(value).then(
          (value) => this.#succeed(attempt, value),
          (error) => this.#fail(attempt, error),
        );
      } else {
        this.#succeed(attempt, value);
      }
    });
    return attempt;
  }

  /** Fails the attempt as timed out, and aborts its signal, at its timeout. */
  #armTimeout(attempt: Attempt): void {
    const { claimed } = attempt;
    const timeout = claimed.timeout;
    if (timeout === null) return;
    attempt.timeoutTimer = setTimeout(() => {
      const reason = new TaskTimeoutError(claimed.name, timeout);
      this.#fail(attempt, reason, "timed_out");
      attempt.controller.abort(reason);
    }, timeout);
  }

  /**
   * Records an attempt's outcome once; `undefined` drops it unwritten (the
   * lease was lost, so the outcome is no longer ours to write).
   */
  decide(
    attempt: Attempt,
    outcome: Outcome | undefined,
    value?: unknown,
  ): void {
    if (attempt.done) return;
    attempt.done = true;
    attemptDecided(attempt, outcome, value);
    if (attempt.timeoutTimer !== undefined) clearTimeout(attempt.timeoutTimer);
    attempt.resolveFinished();
    if (outcome === undefined) this.forget(attempt);
    this.#options.onDecided(attempt, outcome, value);
  }

  /** Drops a running attempt unwritten and aborts its signal with `reason`. */
  drop(attempt: Attempt, reason: Error): void {
    this.decide(attempt, undefined);
    attempt.controller.abort(reason);
  }

  /**
   * The stop's deadline: aborts every running handler and gives its task
   * back to the queue at once, the attempt not counted.
   */
  interruptAll(): void {
    for (const attempt of this.held.values()) {
      if (attempt.done) continue;
      const reason = new InterruptedError(this.#options.workerId);
      this.decide(attempt, {
        outcome: "interrupted",
        error: storedErrorJson(reason),
      });
      attempt.controller.abort(reason);
    }
  }

  /**
   * Lets go of every attempt without writing anything (the worker gives up:
   * see `shutdown.ts`): their leases expire and any worker recovers them.
   */
  abandonAll(): void {
    for (const attempt of this.held.values()) {
      // A finished handler's signal stays as it was: aborting it now would
      // tell listeners it was cut short when it ran to its end.
      if (attempt.done) continue;
      this.decide(attempt, undefined);
      attempt.controller.abort(new InterruptedError(this.#options.workerId));
    }
    this.held.clear();
  }

  /**
   * Stops holding an attempt, unless the entry for its task is already a
   * newer attempt (this worker claimed the task again after its own lease
   * expired).
   */
  forget(attempt: Attempt): void {
    const id = attempt.claimed.id;
    if (this.held.get(id) === attempt) this.held.delete(id);
  }

  /** `text`: the result already serialized by a thread (null: `undefined`). */
  #succeed(attempt: Attempt, value: unknown, text?: string | null): void {
    if (attempt.done) return;
    // `undefined`, what most handlers return, is stored as NULL: its
    // serialized form (52 bytes with superjson) grew every row as it
    // completed, and rows growing in place split pages, a third more of
    // them written per settle (see decodeResult).
    if (value === undefined) {
      this.decide(attempt, { outcome: "completed", result: null }, value);
      return;
    }
    if (text !== undefined && text !== null) {
      this.decide(attempt, { outcome: "completed", result: text }, value);
      return;
    }
    let result: string;
    try {
      result = serializeOrThrow(
        this.#options.serializer,
        value,
        `the result of task "${attempt.claimed.name}"`,
      );
    } catch (error) {
      // Running it again would repeat its side effects for the same
      // unstorable result, so this failure is final. The message already
      // says what could not be serialized: the cause is only what the
      // serializer itself threw (a custom one's TypeError, say), never the
      // SerializationError layers that repeat the message.
      const root = foreignCause(error);
      this.#fail(
        attempt,
        new PermanentError(
          (error as SerializationError).message,
          root === undefined ? undefined : { cause: root },
        ),
      );
      return;
    }
    this.decide(attempt, { outcome: "completed", result }, value);
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
    const retryAt = final ? null : this.#options.clock.now() +
      Math.round(this.#retryDelay(attempt, error));
    // The error rides along as the "value" so the log line can show it whole.
    this.decide(
      attempt,
      { outcome, error: storedErrorJson(error), retryAt },
      error,
    );
    if (retryAt !== null) this.#options.onRetryAt(retryAt);
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
      this.#options.logger.error?.(
        {
          workerId: this.#options.workerId,
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
}

/**
 * Whether a handler's return is a promise or promise-like, which its
 * outcome waits for, as `await` would.
 */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value instanceof Promise) return true;
  return (typeof value === "object" || typeof value === "function") &&
    value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** The first error in `error`'s cause chain that is not a SerializationError. */
function foreignCause(error: unknown): unknown {
  let cause = error;
  while (cause instanceof SerializationError) cause = cause.cause;
  return cause;
}
