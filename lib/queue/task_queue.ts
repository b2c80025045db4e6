/**
 * The queue facade: `TaskQueue` extends `TaskEnqueuer` (enqueueing,
 * `task_enqueuer.ts`), which extends `QueueAdmin` (reading, waiting for
 * and managing stored tasks), with the registry of tasks (name to
 * handler) and workers; storage is the backend's.
 *
 * @module
 */
import type { BindOptions, TaskDeclaration } from "../core/declaration.ts";
import type { Task, TaskHandler, TaskOptions } from "../core/task.ts";
import { checkOptionsObject } from "../core/validate.ts";
import type { Backend } from "../storage/backend.ts";
import { Worker } from "../worker/worker.ts";
import type { WorkerOptions } from "../worker/types.ts";
import type { TaskQueueOptions } from "./options.ts";
import { checkQueueInputs } from "./queue_admin.ts";
import { TaskEnqueuer } from "./task_enqueuer.ts";
import { TaskRegistry } from "./task_registry.ts";

/**
 * A persistent task queue on a {@linkcode Backend}: defines tasks, enqueues
 * them and makes workers, and reads and manages them as
 * {@linkcode QueueAdmin} does.
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
export class TaskQueue extends TaskEnqueuer {
  readonly #registry: TaskRegistry;

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
    // Checked here first so that a message names TaskQueue, not QueueAdmin.
    const checked = checkQueueInputs(backend, options, "create TaskQueue");
    const registry = new TaskRegistry();
    super(
      checked,
      options,
      (task) => registry.checkRegistered(task, "enqueue"),
    );
    this.#registry = registry;
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
   * @throws {DuplicateTaskError} `DUPLICATE_TASK` if another handler already
   * has the name.
   * @throws {DeclarationConflictError} If the name is declared on this queue
   * (bind to the declaration instead).
   */
  task<Args extends unknown[], Result>(
    name: string,
    handler: TaskHandler<Args, Result>,
    options?: TaskOptions,
  ): Task<Args, Awaited<Result>>;
  /**
   * Binds a handler to a declaration from {@linkcode declareTask}: the
   * handler's parameters and result are checked against the declared types
   * (and its parameters typed from them), and the declaration is
   * registered on this queue. Workers of this queue run the task;
   * producers elsewhere enqueue the declaration without this code.
   *
   * @example
   * ```ts
   * import { declareTask, SQLiteBackend, TaskQueue } from "sitq";
   *
   * const resize = declareTask<[path: string, width: number], { path: string }>("resize");
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const bound = queue.task(resize, async (path, width) => ({ path: `${width}/${path}` }), {
   *   backoff: { type: "fixed", delay: 500 },
   * });
   * console.log(bound.options); // { backoff: { type: "fixed", delay: 500 } }
   * await queue.close();
   * ```
   *
   * @typeParam Args The declared argument list.
   * @typeParam Result The declared result.
   * @param declaration A declaration from `declareTask()`.
   * @param handler The function a worker runs, sync or async; it must take
   * the declared arguments and return (or resolve to) the declared result.
   * @param options What only the worker reads: `backoff`, over the declared
   * one. `maxAttempts`, `timeout` and `priority` belong to the declaration.
   * @returns The task, to pass to `enqueue` and to workers.
   * @throws {TypeError | RangeError} If `declaration` is not a declaration,
   * the handler is not a function, or an option is invalid.
   * @throws {DuplicateTaskError} If another handler is bound to the
   * declaration on this queue (binding the same handler again updates its
   * options).
   * @throws {DeclarationConflictError} If the name is registered here with
   * another declaration (other options) or with a handler of its own.
   */
  task<Args extends unknown[], Result>(
    declaration: TaskDeclaration<Args, Result> & { readonly handler?: never },
    // NoInfer: the declaration alone says what Args and Result are.
    handler: NoInfer<TaskHandler<Args, Result | Promise<Result>>>,
    options?: BindOptions,
  ): Task<Args, Result>;
  task(
    nameOrDeclaration: string | TaskDeclaration<unknown[], unknown>,
    handler: TaskHandler<unknown[], unknown>,
    options?: TaskOptions | BindOptions,
  ): Task<unknown[], unknown> {
    // Anything named like a task object goes to bind(), which says why it
    // is not a declaration; the rest to define(), which checks the name.
    const named = typeof nameOrDeclaration === "object" &&
      nameOrDeclaration !== null &&
      typeof (nameOrDeclaration as { name?: unknown }).name === "string";
    return named
      ? this.#registry.bind(
        nameOrDeclaration as TaskDeclaration<unknown[], unknown>,
        handler,
        options,
      )
      : this.#registry.define(
        nameOrDeclaration as string,
        handler,
        options === undefined ? {} : options,
      );
  }

  /**
   * Registers declarations from {@linkcode declareTask} on this queue, so
   * that it may enqueue them: what a process that only enqueues calls
   * instead of `queue.task()`. A queue refuses to enqueue what is not
   * registered on it, as for tasks. Declaring again is harmless; a worker's
   * `queue.task(declaration, handler)` declares too.
   *
   * @example A producer with no handler code
   * ```ts
   * import { declareTask, SQLiteBackend, TaskQueue } from "sitq";
   *
   * const resize = declareTask<[path: string, width: number], { path: string }>("resize");
   * const email = declareTask<[to: string], void>("email", { maxAttempts: 5 });
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * queue.declare(resize, email);
   * await queue.enqueue(resize, "cat.png", 200);
   * await queue.enqueue(email.with({ delay: 60_000 }), "ada@example.com");
   * console.log(queue.tasks.length); // 0: nothing here runs them
   * await queue.close();
   * ```
   *
   * @param declarations Declarations from `declareTask()`.
   * @throws {TypeError} If one is not a declaration (a task with a handler,
   * a name); none is registered then.
   * @throws {DeclarationConflictError} If a name is registered here with
   * another declaration (other options) or with a handler of its own.
   */
  declare(
    ...declarations: ReadonlyArray<
      TaskDeclaration<never, unknown> & { readonly handler?: never }
    >
  ): void {
    this.#registry.declare(declarations);
  }

  /**
   * Every task with a handler registered on this queue, in definition
   * order (a copy). Declarations without a handler are not in it.
   */
  get tasks(): readonly Task<never, unknown>[] {
    return [...this.#registry.live];
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
    if (options.tasks === undefined && this.#registry.live.length === 0) {
      throw new TypeError(
        this.#registry.unboundCount > 0
          ? "Cannot create a worker as no task on this queue has a handler: its tasks are only declared, and a worker runs handlers; bind one with queue.task(declaration, handler) first"
          : "Cannot create a worker as no task is defined on this queue yet: define tasks with queue.task() first (the worker then runs every task defined on the queue when it starts)",
      );
    }
    return new Worker(this.backend, {
      serializer: this.serializer,
      clock: this.clock,
      ...options,
      // The live list, read by the worker at start(); see TaskRegistry.live.
      tasks: options.tasks ?? this.#registry.live,
    });
  }
}
