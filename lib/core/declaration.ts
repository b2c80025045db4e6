/**
 * Task declarations: a task's name, argument and result types and run
 * defaults, without its handler. A module of declarations is what a
 * producer (a web process that only enqueues) and a worker share: the
 * producer enqueues with full type checking and never loads the handlers'
 * code, and the worker binds a handler to each declaration with
 * `queue.task(declaration, handler)`, which the compiler holds to the
 * declared types.
 *
 * @module
 */
import {
  checkRunOptions,
  checkTaskName,
  checkTaskOptions,
  mergeRunOptions,
  type RunOptions,
  type TaskOptions,
} from "./task.ts";
import { checkNoNulls, checkOptionsObject } from "./validate.ts";
import { describeShape } from "./validate_shapes.ts";

/**
 * Marks the objects {@linkcode declareTask} makes. `Symbol.for`, so that a
 * declaration made by a second copy of sitq (a bundle next to the package)
 * is still recognised.
 */
const DECLARATION: unique symbol = Symbol.for("sitq.declaration") as never;

/**
 * A task's name, types and run defaults, with no handler: what
 * {@linkcode declareTask} returns. Enqueue it like a task
 * (`queue.enqueue(resize, "cat.png", 200)`, arguments checked against
 * `Args`, the id typed with `Result`); bind a handler to it in a worker
 * process with `queue.task(resize, handler)`.
 *
 * @typeParam Args The argument list a run takes (a tuple; label its
 * elements to name them: `[path: string, width: number]`).
 * @typeParam Result What the handler resolves to.
 */
export interface TaskDeclaration<
  Args extends unknown[] = unknown[],
  Result = unknown,
> {
  /** The durable name stored with every run. */
  readonly name: string;
  /**
   * The declared defaults of every run. Producers write `maxAttempts`,
   * `timeout`, `priority` and `queue` into each run they enqueue; the worker reads
   * `backoff`.
   */
  readonly options: Readonly<TaskOptions>;
  /** Per-run options set with {@linkcode TaskDeclaration.with}, if any. */
  readonly runOptions?: Readonly<RunOptions>;
  /**
   * The same declaration with options for the next enqueue:
   * `queue.enqueue(resize.with({ delay: 5000 }), "cat.png", 200)`.
   */
  with(options: RunOptions): TaskDeclaration<Args, Result>;
  /**
   * Type-level only: never present at run time. Carries `Args` and
   * `Result`, so that a declaration of one task is not assignable to
   * another's.
   */
  readonly __sitqSignature?: (...args: Args) => Result;
}

/**
 * Options a worker may add when it binds a handler to a declaration: only
 * what the worker alone reads. `maxAttempts`, `timeout` and `priority` are
 * written into each run by whoever enqueues it, so they belong to the
 * declaration, where producers and workers see the same values.
 */
export interface BindOptions {
  /**
   * The wait between attempts, over the declaration's `backoff`.
   *
   * @default {the declaration's backoff, else { type: "exponential", delay: 1000 }}
   */
  backoff?: TaskOptions["backoff"];
}

/**
 * Declares a task by name and types alone, for producers that must not
 * import the handlers' code. Give both type parameters: without them the
 * declaration is `TaskDeclaration<never, never>`, which nothing can enqueue
 * and no handler can satisfy.
 *
 * A queue enqueues only declarations registered on it: a producer calls
 * `queue.declare(resize)`; a worker's `queue.task(resize, handler)`
 * registers it too.
 *
 * @example Declare once, enqueue in one process, run in another
 * ```ts
 * import { declareTask, SQLiteBackend, TaskQueue } from "sitq";
 *
 * // tasks.ts: imported by producers and workers, no handler code
 * const resize = declareTask<[path: string, width: number], { path: string }>(
 *   "resize",
 *   { maxAttempts: 5 },
 * );
 *
 * // producer
 * const producer = new TaskQueue(new SQLiteBackend(":memory:"));
 * producer.declare(resize);
 * const id = await producer.enqueue(resize, "cat.png", 200); // TaskId<{ path: string }>
 *
 * // worker: the handler's parameters come from the declaration
 * const workerQueue = new TaskQueue(producer.backend);
 * workerQueue.task(resize, (path, width) => ({ path: `${width}/${path}` }));
 * await workerQueue.worker().processOne();
 *
 * const result = await producer.waitForResult(id);
 * if (result.status === "completed") console.log(result.value.path); // "200/cat.png"
 * await producer.close();
 * ```
 *
 * @typeParam Args The argument list a run takes, as a tuple.
 * @typeParam Result What the handler resolves to (`void` for nothing).
 * @param name The task's identity in the database: 1 to 200 characters,
 * no leading or trailing spaces, no control characters.
 * @param options Defaults of every run: `maxAttempts` (default 3),
 * `backoff`, `timeout` (ms, no limit by default), `priority` (default 0),
 * `queue` (default "default").
 * @returns A frozen declaration.
 * @throws {TypeError | RangeError} If the name or an option is invalid.
 */
export function declareTask<
  Args extends unknown[] = never,
  Result = never,
>(name: string, options: TaskOptions = {}): TaskDeclaration<Args, Result> {
  checkTaskName(name, "declare task");
  checkTaskOptions(options, name, `declare task "${name}"`);
  return createDeclaration<Args, Result>(name, { ...options }, undefined);
}

function createDeclaration<Args extends unknown[], Result>(
  name: string,
  options: TaskOptions,
  runOptions: RunOptions | undefined,
): TaskDeclaration<Args, Result> {
  const declaration: TaskDeclaration<Args, Result> = {
    name,
    options: Object.freeze(options),
    runOptions: runOptions && Object.freeze({ ...runOptions }),
    with(next: RunOptions): TaskDeclaration<Args, Result> {
      checkRunOptions(next, name);
      return createDeclaration(
        name,
        options,
        mergeRunOptions(runOptions, next),
      );
    },
  };
  // Not enumerable: a declaration logs and compares as its name and options.
  Object.defineProperty(declaration, DECLARATION, { value: true });
  return Object.freeze(declaration);
}

/** Whether `value` was made by {@linkcode declareTask} (or its `with()`). */
export function isTaskDeclaration(
  value: unknown,
): value is TaskDeclaration<never, unknown> {
  return typeof value === "object" && value !== null &&
    (value as { [DECLARATION]?: unknown })[DECLARATION] === true;
}

/**
 * Throws a TypeError unless `value` is a declaration from
 * {@linkcode declareTask}, saying what it is instead.
 *
 * @param value What the caller passed as a declaration.
 * @param action What is being done, for the message: "declare".
 */
export function checkDeclaration(
  value: unknown,
  action: string,
): asserts value is TaskDeclaration<never, unknown> {
  if (isTaskDeclaration(value)) return;
  const { name, handler } =
    (typeof value === "object" && value !== null ? value : {}) as {
      name?: unknown;
      handler?: unknown;
    };
  const what = typeof handler === "function" && typeof name === "string"
    ? `the task "${name}", which already has a handler (pass declarations from declareTask() here; enqueue or run the task as it is)`
    : typeof value === "string"
    ? `the string ${
      JSON.stringify(value)
    } (a declaration is an object: declareTask<Args, Result>(${
      JSON.stringify(value)
    }))`
    : describeShape(value);
  throw new TypeError(
    `Cannot ${action} as it must be given a declaration from declareTask(): current value is ${what}`,
  );
}

/**
 * Throws unless `options` are valid {@linkcode BindOptions}. A row option
 * gets a message saying where it belongs instead.
 *
 * @param options What the caller passed.
 * @param name The task's name, for the message.
 * @throws {TypeError} If an option is unknown, belongs to the declaration,
 * or is null; or the backoff has a wrong shape.
 * @throws {RangeError} If a backoff delay is out of range.
 */
export function checkBindOptions(options: unknown, name: string): void {
  const action = `bind a handler to task "${name}"`;
  checkOptionsObject(options, action);
  if (options === undefined) return;
  for (const key of Object.keys(options as object)) {
    if (key === "backoff") continue;
    const declared = key === "maxAttempts" || key === "timeout" ||
      key === "priority" || key === "queue";
    throw new TypeError(
      declared
        ? `Cannot ${action} as '${key}' belongs to its declaration: producers write it into every run they enqueue, so give it to declareTask("${name}", { ${key} }) where they see it too (per run: declaration.with({ ${key} }))`
        : `Cannot ${action} as '${key}' is not an option; the known option is backoff`,
    );
  }
  checkNoNulls(options as object, action);
  const { backoff } = options as BindOptions;
  if (backoff !== undefined) checkTaskOptions({ backoff }, name, action);
}

/**
 * Whether two declarations are the same task: the same name and equal
 * options. Their types cannot be compared at run time; an object backoff
 * is compared field by field, a function backoff by identity.
 */
export function sameDeclaration(
  a: TaskDeclaration<never, unknown>,
  b: TaskDeclaration<never, unknown>,
): boolean {
  return a.name === b.name && sameOptions(a.options, b.options);
}

function sameOptions(a: TaskOptions, b: TaskOptions): boolean {
  if (
    a.maxAttempts !== b.maxAttempts || a.timeout !== b.timeout ||
    a.priority !== b.priority || a.queue !== b.queue
  ) return false;
  if (a.backoff === b.backoff) return true;
  if (typeof a.backoff !== "object" || typeof b.backoff !== "object") {
    return false;
  }
  const [x, y] = [a.backoff, b.backoff] as Record<string, unknown>[];
  const keys = new Set([...Object.keys(x!), ...Object.keys(y!)]);
  return [...keys].every((key) => x![key] === y![key]);
}

/** The options of a declaration and those a worker added when binding. */
export function boundOptions(
  declaration: TaskDeclaration<never, unknown>,
  options: BindOptions | undefined,
): TaskOptions {
  return options?.backoff === undefined
    ? { ...declaration.options }
    : { ...declaration.options, backoff: options.backoff };
}
