/**
 * Task definitions: a durable name bound to a typed handler.
 *
 * @module
 */
import { checkQueueName } from "./queue_names.ts";
import type { TaskDeclaration } from "./declaration.ts";
import { type Backoff, validateBackoff } from "./retry_policy.ts";
import type { FinalTaskResult, TaskId } from "./types.ts";
import {
  checkOnDuplicate,
  checkUniqueFor,
  checkUniqueKey,
  type OnDuplicate,
} from "./unique_keys.ts";
import {
  checkDate,
  checkDuration,
  checkInteger,
  checkKnownKeys,
  checkOptions,
  checkTimerDuration,
  checkWellFormed,
  optionKeys,
} from "./validate.ts";

/**
 * What a running handler can know and do, passed as its `this`. Declare
 * `this: TaskContext` as the handler's first parameter to use it (arrow
 * functions have no `this`; use a `function` for handlers that need it).
 *
 * @example Honour the abort signal and report progress
 * ```ts
 * import { SQLiteBackend, TaskQueue, type TaskContext } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * queue.task("crawl", async function (this: TaskContext, urls: string[]) {
 *   for (const [index, url] of urls.entries()) {
 *     this.signal.throwIfAborted();
 *     await this.reportProgress({ done: index, url });
 *   }
 *   return urls.length;
 * });
 * await queue.close();
 * ```
 */
export interface TaskContext {
  /** The task's id. */
  readonly id: TaskId;
  /** The task's name. */
  readonly name: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** Total attempts allowed. */
  readonly maxAttempts: number;
  /** The worker running it. */
  readonly workerId: string;
  /**
   * Fires when the attempt should stop: at its timeout (reason
   * `TaskTimeoutError`), when the worker stops (`InterruptedError`), when
   * the worker lost its lease (`LeaseLostError`), or when the task was
   * cancelled from any process (`CancelledError`).
   */
  readonly signal: AbortSignal;
  /**
   * Stores a progress value (serialized like arguments) that
   * `queue.getTask(id).progress` returns. Ignored once the attempt is over.
   */
  reportProgress(progress: unknown): Promise<void>;
  /**
   * The tasks this one depends on (a workflow step's parents), in the order
   * they were given, each with its final result: `completed` with its
   * value, or, for a dependency that runs anyway, `failed` or `cancelled`.
   * Empty for a task without dependencies. Read from the database on each
   * call. Not available to handlers run in worker threads (it rejects
   * there).
   *
   * @example
   * ```ts ignore
   * queue.task("combine", async function (this: TaskContext) {
   *   const parents = await this.parents();
   *   return parents.filter((parent) => parent.result.status === "completed").length;
   * });
   * ```
   */
  parents(): Promise<ParentResult[]>;
  /**
   * The value of the one parent of this task that runs `task` (a task or
   * declaration), typed by it: `await this.parentResult(download)`.
   *
   * @throws {InvalidStateError} If no parent, or more than one, runs
   * `task` (use `parentResults` for several), or that parent did not
   * complete (a dependency that runs anyway).
   */
  parentResult<Result>(
    task: TaskDeclaration<never, Result> | TaskDeclaration<unknown[], Result>,
  ): Promise<Result>;
  /**
   * The values of every completed parent that runs `task`, in the order
   * they were given, typed by it: the fan-in of a workflow.
   */
  parentResults<Result>(
    task: TaskDeclaration<never, Result> | TaskDeclaration<unknown[], Result>,
  ): Promise<Result[]>;
}

/** One parent of a running task, as {@linkcode TaskContext.parents} gives it. */
export interface ParentResult {
  /** The parent's id. */
  readonly id: TaskId;
  /** The parent's task name. */
  readonly name: string;
  /** Its final result: completed, or failed or cancelled (run anyway). */
  readonly result: FinalTaskResult;
}

/**
 * A task's handler: any function, sync or async. Its parameters are the
 * task's arguments; its `this` is the {@linkcode TaskContext}.
 *
 * @typeParam Args The handler's parameter list.
 * @typeParam Result What the handler returns (maybe a promise).
 */
export type TaskHandler<Args extends unknown[], Result> = (
  this: TaskContext,
  ...args: Args
) => Result;

/** Defaults for every run of a task; each can be overridden per enqueue. */
export interface TaskOptions {
  /**
   * Total attempts allowed, the first included (1 means never retry).
   *
   * @default {3}
   */
  maxAttempts?: number;
  /**
   * The wait between attempts.
   *
   * @default {{ type: "exponential", delay: 1000 }}
   */
  backoff?: Backoff;
  /**
   * Milliseconds one attempt may run before its signal fires and it fails
   * as timed out. No limit when absent.
   */
  timeout?: number;
  /**
   * Higher runs first.
   *
   * @default {0}
   */
  priority?: number;
  /**
   * The queue its runs go to: a name of 1 to 128 characters. Workers take
   * the queues they are given (`WorkerOptions.queues`, all by default);
   * a queue can be paused and limited (`queue.queues`).
   *
   * @default {"default"}
   */
  queue?: string;
}

/** Options for one enqueue; they override the task's {@linkcode TaskOptions}. */
export interface RunOptions {
  /** Milliseconds from now before the task may run. */
  delay?: number;
  /** The earliest time the task may run (give `delay` or `runAt`, not both). */
  runAt?: Date;
  /** Higher runs first. */
  priority?: number;
  /** The queue this run goes to (1 to 128 characters); see `TaskOptions.queue`. */
  queue?: string;
  /** Total attempts allowed for this run. */
  maxAttempts?: number;
  /** Milliseconds one attempt of this run may take. */
  timeout?: number;
  /**
   * A key that makes this run unique among the live runs of its task: while
   * a task of the same name holds the key (it is waiting, queued or
   * running, or completed less than `uniqueFor` ms ago), an enqueue with
   * the key creates no second task and does what `onDuplicate` says. A
   * failed or cancelled task gives its key up. Keys are per task name (two
   * tasks may use the same key), 1 to 500 characters, compared exactly.
   * Decided by a unique index, so it holds across processes and
   * connections. `queue.enqueueUnique` tells whether a task was created.
   */
  uniqueKey?: string;
  /**
   * Milliseconds after the task completes during which it keeps holding
   * its key, so that enqueues of the key within that window are duplicates
   * too (a throttle: "at most once an hour"). Needs `uniqueKey`. No window
   * when absent: the key is free as soon as the task completes.
   */
  uniqueFor?: number;
  /**
   * What an enqueue does when the key is held: `"keep"` the holder,
   * `"replace"` a waiting or queued holder's arguments, run time,
   * priority, attempts and timeout (a running one is kept), or throw a
   * `DuplicateKeyError` (`"error"`). Needs `uniqueKey`.
   *
   * @default {"keep"}
   */
  onDuplicate?: OnDuplicate;
}

/**
 * A registered task: its name, handler and defaults. Made by
 * `queue.task(name, handler, options)`, or by `queue.task(declaration,
 * handler)` from a {@linkcode TaskDeclaration}. A task is also a
 * declaration of itself: anything that takes a declaration takes a task.
 *
 * @typeParam Args The handler's parameter list.
 * @typeParam Result The handler's resolved return type.
 */
export interface Task<Args extends unknown[] = unknown[], Result = unknown>
  extends TaskDeclaration<Args, Result> {
  /** The function a worker calls. */
  readonly handler: TaskHandler<Args, Result | Promise<Result>>;
  /**
   * The task's defaults (for a task bound to a declaration: the declared
   * ones, with the `backoff` given when binding over them).
   */
  readonly options: Readonly<TaskOptions>;
  /**
   * The same task with options for the next enqueue, typed like the task:
   * `queue.enqueue(resize.with({ delay: 5000 }), "cat.png", 200)`.
   */
  with(options: RunOptions): Task<Args, Result>;
}

const NAME_LIMIT = 200;

/**
 * Throws a TypeError/RangeError unless `name` can be a task name: 1 to 200
 * characters, no leading or trailing spaces, no control characters, and
 * well-formed Unicode. The name is the task's identity in the database, so
 * it must read back exactly as given: a lone surrogate (`"t-\uD800"`) would
 * be stored as U+FFFD and no worker would find a handler for it.
 *
 * @param name The name to check.
 * @param action What is being done, for the message.
 */
export function checkTaskName(
  name: unknown,
  action = "define task",
): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot ${action} as its name must be a string: current value is ${
        String(name)
      }`,
    );
  }
  if (name.trim() === "" || name.trim() !== name || name.length > NAME_LIMIT) {
    throw new RangeError(
      `Cannot ${action} as its name must be 1 to ${NAME_LIMIT} characters without leading or trailing spaces: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    throw new RangeError(
      `Cannot ${action} as its name must not contain control characters: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  checkWellFormed(name, action, "name");
}

function checkSharedOptions(
  options: TaskOptions | RunOptions,
  action: string,
): void {
  if (options.maxAttempts !== undefined) {
    checkInteger(options.maxAttempts, action, "maxAttempts", 1);
  }
  if (options.timeout !== undefined) {
    checkTimerDuration(options.timeout, action, "timeout", 1);
  }
  if (options.priority !== undefined) {
    checkInteger(options.priority, action, "priority", Number.MIN_SAFE_INTEGER);
  }
  if (options.queue !== undefined) {
    checkQueueName(options.queue, action, "queue");
  }
}

/**
 * Checks what task and run options have in common: an object (or nothing)
 * with known keys and valid shared fields. Returns the options, or undefined
 * when there are none to check further.
 */
function checkCommonOptions<T extends TaskOptions | RunOptions>(
  options: unknown,
  keys: readonly string[],
  action: string,
): T | undefined {
  checkOptions(options, keys, action);
  if (options === undefined) return undefined;
  checkSharedOptions(options as T, action);
  return options as T;
}

const TASK_OPTION_KEYS = optionKeys<TaskOptions>(
  {
    maxAttempts: true,
    backoff: true,
    timeout: true,
    priority: true,
    queue: true,
  },
);

/**
 * Throws unless `options` are valid {@linkcode TaskOptions}.
 *
 * @param options What the caller passed.
 * @param name The task's name, for the message.
 * @param action What is being done, for the message.
 */
export function checkTaskOptions(
  options: unknown,
  name: string,
  action = `define task "${name}"`,
): void {
  const typed = checkCommonOptions<TaskOptions>(
    options,
    TASK_OPTION_KEYS,
    action,
  );
  if (typed?.backoff !== undefined) {
    validateBackoff(typed.backoff, action);
    checkBackoffFields(typed.backoff, action);
  }
}

/** The fields each object backoff reads, per `type`. */
const BACKOFF_KEYS = {
  fixed: optionKeys<Extract<Backoff, { type: "fixed" }>>(
    { type: true, delay: true },
  ),
  exponential: optionKeys<Extract<Backoff, { type: "exponential" }>>(
    { type: true, delay: true, maxDelay: true, jitter: true },
  ),
};

/**
 * What `validateBackoff` leaves to check on an object backoff: a field that
 * its type does not read (a misspelt `maxDelay`, or `maxDelay` on a fixed
 * backoff) would be ignored, and a `jitter` that is not a boolean would read
 * as `true`.
 */
function checkBackoffFields(backoff: Backoff, action: string): void {
  if (typeof backoff === "function") return;
  checkKnownKeys(
    backoff,
    BACKOFF_KEYS[backoff.type],
    `${action} with a ${backoff.type} 'backoff'`,
  );
  const { jitter } = backoff as { jitter?: unknown };
  if (jitter !== undefined && typeof jitter !== "boolean") {
    throw new TypeError(
      `Cannot ${action} as 'backoff.jitter' must be true or false: current value is ${
        JSON.stringify(jitter)
      }`,
    );
  }
}

const RUN_OPTION_KEYS = optionKeys<RunOptions>({
  delay: true,
  runAt: true,
  priority: true,
  queue: true,
  maxAttempts: true,
  timeout: true,
  uniqueKey: true,
  uniqueFor: true,
  onDuplicate: true,
});

/** Throws unless `options` are valid {@linkcode RunOptions}. */
export function checkRunOptions(options: unknown, name: string): void {
  const action = `enqueue task "${name}"`;
  const typed = checkCommonOptions<RunOptions>(
    options,
    RUN_OPTION_KEYS,
    action,
  );
  if (typed === undefined) return;
  if (typed.delay !== undefined) checkDuration(typed.delay, action, "delay");
  if (typed.runAt !== undefined) checkDate(typed.runAt, action, "runAt");
  if (typed.delay !== undefined && typed.runAt !== undefined) {
    throw new TypeError(
      `Cannot ${action} as 'delay' and 'runAt' both say when to run; pass one of them`,
    );
  }
  // A function key is enqueueMany's (one key per argument list), checked
  // where it is called.
  if (typed.uniqueKey !== undefined && typeof typed.uniqueKey !== "function") {
    checkUniqueKey(typed.uniqueKey, action);
  }
  if (typed.uniqueFor !== undefined) checkUniqueFor(typed.uniqueFor, action);
  if (typed.onDuplicate !== undefined) {
    checkOnDuplicate(typed.onDuplicate, action);
  }
}

/**
 * Makes a frozen task object. `TaskQueue.task` calls this after checking the
 * name, handler and options; it is internal (not exported from `mod.ts`):
 * users make tasks with `queue.task()`. `with()` checks its run options and
 * returns a new task whose run options are merged over these.
 */
export function createTask<Args extends unknown[], Result>(
  name: string,
  handler: TaskHandler<Args, Result | Promise<Result>>,
  options: TaskOptions,
  runOptions?: RunOptions,
): Task<Args, Result> {
  const task: Task<Args, Result> = {
    name,
    handler,
    options: Object.freeze({ ...options }),
    runOptions: runOptions && Object.freeze({ ...runOptions }),
    with(next: RunOptions): Task<Args, Result> {
      checkRunOptions(next, name);
      return createTask(
        name,
        handler,
        options,
        mergeRunOptions(runOptions, next),
      );
    },
  };
  return Object.freeze(task);
}

/**
 * `later` over `earlier`. A later `delay` or `runAt` replaces an earlier
 * one of either kind: both say when to run.
 */
export function mergeRunOptions(
  earlier: RunOptions | undefined,
  later: RunOptions | undefined,
): RunOptions | undefined {
  if (later === undefined) return earlier;
  const merged = { ...earlier, ...later };
  if (later.delay !== undefined) delete merged.runAt;
  if (later.runAt !== undefined) delete merged.delay;
  return merged;
}
