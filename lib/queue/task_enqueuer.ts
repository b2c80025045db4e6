/**
 * The enqueueing half of `TaskQueue`: one run, unique runs, batches,
 * workflows and transactional views (`enqueue.ts`, `workflow.ts`,
 * `in_transaction.ts`). `TaskEnqueuer` extends `QueueAdmin` and
 * `TaskQueue` extends it with the registry of tasks and workers; kept
 * apart so that each module has one job.
 *
 * @module
 */
import type { TaskDeclaration } from "../core/declaration.ts";
import { mergeRunOptions, type RunOptions } from "../core/task.ts";
import type { TaskId } from "../core/types.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { Backend } from "../storage/backend.ts";
import { checkArgsList, type QueueInserts, queueInserts } from "./enqueue.ts";
import { checkTransaction, TransactionalQueue } from "./in_transaction.ts";
import type { TaskQueueOptions } from "./options.ts";
import { QueueAdmin } from "./queue_admin.ts";
import type { EnqueueManyOptions, UniqueEnqueueResult } from "./unique.ts";
import {
  type EnqueuedWorkflow,
  enqueueWorkflow,
  type Workflow,
} from "./workflow.ts";

/**
 * Enqueues the tasks registered on a queue: everything
 * {@linkcode QueueAdmin} does, plus `enqueue`, `enqueueUnique`,
 * `enqueueMany`, `enqueueManyUnique`, `enqueueWorkflow` and
 * `inTransaction`. The base of {@linkcode TaskQueue}, which is what to
 * construct.
 */
export class TaskEnqueuer extends QueueAdmin {
  // The two ways this queue inserts, shared with its transactional views.
  readonly #inserts: QueueInserts;

  /**
   * Creates the enqueueing half of a queue; `TaskQueue` calls this.
   *
   * @param backend Where tasks are stored.
   * @param options The serializer and clock.
   * @param checkRegistered Throws unless `task` may be enqueued here
   * (`UnknownTaskError`, `DeclarationConflictError`).
   */
  constructor(
    backend: Backend,
    options: TaskQueueOptions,
    checkRegistered: (task: unknown) => void,
  ) {
    super(backend, options);
    this.#inserts = queueInserts({
      backend,
      serializer: this.serializer,
      clock: this.clock,
      checkRegistered,
    });
  }

  /**
   * Adds a run of `task` to the queue and returns its id. Use
   * `task.with({ delay, runAt, priority, maxAttempts, timeout })` to set
   * options for this run.
   *
   * With a `uniqueKey` (`task.with({ uniqueKey: "user:42" })`) it returns
   * the id of the task that holds the key afterwards: the new task, or the
   * one that already held it (see {@linkcode RunOptions.uniqueKey}). To
   * learn which, call {@linkcode TaskQueue.enqueueUnique} instead; this
   * method keeps returning an id so that every caller of it stays as it
   * is.
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
   * @param task A task returned by {@linkcode TaskQueue.task}, or a
   * declaration from `declareTask()` registered with
   * {@linkcode TaskQueue.declare}.
   * @param args The handler's arguments.
   * @returns The id of the new task, typed with the task's result.
   * @throws {UnknownTaskError} If `task` is not registered on this queue.
   * @throws {DeclarationConflictError} If `task` is a declaration that
   * differs from the one registered under its name.
   * @throws {SerializationError} If an argument cannot be stored; nothing is written.
   * @throws {DuplicateKeyError} If the run's key is held and its
   * `onDuplicate` is `"error"`; nothing is written.
   */
  async enqueue<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    ...args: Args
  ): Promise<TaskId<Result>> {
    const [id] = await this.#inserts.ids(task, [args], task?.runOptions);
    return id as TaskId<Result>;
  }

  /**
   * Adds a run of `task` with a unique key unless a task of its name holds
   * the key, and says what happened: whether a task was `created`, and
   * which task holds the key now (`id`). The key, its window and what to
   * do with a holder come from `task.with({ uniqueKey, uniqueFor,
   * onDuplicate })`; see {@linkcode RunOptions.uniqueKey}.
   *
   * A separate method rather than a new return type for `enqueue`, so that
   * code written for `enqueue` (which returns an id) keeps compiling and
   * behaving as it did; `enqueue` with a key returns this result's `id`.
   *
   * @example Deduplicate, replace, refuse
   * ```ts
   * import { DuplicateKeyError, SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const report = queue.task("report", (day: string, rows: number) => `${day}: ${rows}`);
   * const daily = report.with({ uniqueKey: "2030-01-01" });
   *
   * const first = await queue.enqueueUnique(daily, "2030-01-01", 10);
   * const kept = await queue.enqueueUnique(daily, "2030-01-01", 20);
   * console.log(first.created, kept.created, kept.id === first.id); // true false true
   *
   * const replaced = await queue.enqueueUnique(
   *   daily.with({ onDuplicate: "replace" }),
   *   "2030-01-01",
   *   30,
   * );
   * console.log(replaced.replaced, (await queue.getTask(first.id)).args); // true [ "2030-01-01", 30 ]
   *
   * try {
   *   await queue.enqueueUnique(daily.with({ onDuplicate: "error" }), "2030-01-01", 40);
   * } catch (error) {
   *   if (error instanceof DuplicateKeyError) console.log(error.holderId === first.id); // true
   * }
   * await queue.close();
   * ```
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A registered task or declaration, with a `uniqueKey` set by
   * `with()`.
   * @param args The handler's arguments.
   * @returns What the enqueue did, and the id of the key's holder.
   * @throws {TypeError} If `task` has no `uniqueKey`.
   * @throws {DuplicateKeyError} If the key is held and `onDuplicate` is
   * `"error"`; nothing is written.
   * @throws {UnknownTaskError} If `task` is not registered on this queue.
   * @throws {SerializationError} If an argument cannot be stored; nothing is written.
   */
  async enqueueUnique<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    ...args: Args
  ): Promise<UniqueEnqueueResult<Result>> {
    const [result] = await this.#inserts.unique<Result>(
      task,
      [args],
      task?.runOptions,
      "enqueueUnique",
    );
    return result!;
  }

  /**
   * Adds many runs of one task in a single transaction: all are stored or
   * none is. With a `uniqueKey` (in `options`, where it may be a function
   * of each run's arguments, or set by `task.with`), each id is the one
   * holding the run's key; runs of one batch are applied in order (see
   * {@linkcode EnqueueManyOptions}), and {@linkcode TaskQueue.enqueueManyUnique}
   * says which were created.
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
   * @param task A task returned by {@linkcode TaskQueue.task}, or a
   * registered declaration.
   * @param argsList One argument list per run.
   * @param options Options for every run (merged over `task.with` options).
   * @returns The ids, in the order of `argsList`.
   * @throws {UnknownTaskError} If `task` is not registered on this queue.
   * @throws {DeclarationConflictError} If `task` is a declaration that
   * differs from the one registered under its name.
   * @throws {SerializationError} If any argument cannot be stored; nothing is written.
   * @throws {DuplicateKeyError} If a run's key is held and `onDuplicate` is
   * `"error"`; nothing is written.
   */
  async enqueueMany<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    argsList: readonly Args[],
    options?: EnqueueManyOptions<Args>,
  ): Promise<TaskId<Result>[]> {
    checkArgsList(task, argsList);
    const ids = await this.#inserts.ids(
      task,
      argsList,
      mergeRunOptions(task?.runOptions, options as RunOptions),
    );
    return ids as TaskId<Result>[];
  }

  /**
   * Adds many runs of one task with unique keys in a single transaction,
   * and says per run what happened; as {@linkcode TaskQueue.enqueueUnique}
   * for each run, in order (see {@linkcode EnqueueManyOptions} for runs of
   * one batch that share a key). Runs whose key is free are inserted
   * together, in key order: the ids of the created tasks follow their
   * keys, not `argsList`.
   *
   * @example A key per user, computed from the arguments
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const sync = queue.task("sync", (userId: number, full: boolean) => ({ userId, full }));
   * const results = await queue.enqueueManyUnique(sync, [[1, false], [2, false], [1, true]], {
   *   uniqueKey: (userId) => `user:${userId}`,
   *   onDuplicate: "replace",
   * });
   * console.log(results.map((r) => [r.key, r.created, r.replaced]));
   * // [ [ "user:1", true, false ], [ "user:2", true, false ], [ "user:1", false, true ] ]
   * await queue.close();
   * ```
   *
   * @typeParam Args The handler's parameter list.
   * @typeParam Result The handler's resolved return type.
   * @param task A registered task or declaration.
   * @param argsList One argument list per run.
   * @param options Options for every run, over `task.with` options; a
   * `uniqueKey` here or there is required.
   * @returns One result per run, in the order of `argsList`.
   * @throws {TypeError} If no `uniqueKey` is given, or a key function
   * returns something that is not a key.
   * @throws {DuplicateKeyError} If a run's key is held (or taken by an
   * earlier run of the batch) and `onDuplicate` is `"error"`; nothing is
   * written.
   * @throws {UnknownTaskError} If `task` is not registered on this queue.
   * @throws {SerializationError} If any argument cannot be stored; nothing is written.
   */
  async enqueueManyUnique<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    argsList: readonly Args[],
    options?: EnqueueManyOptions<Args>,
  ): Promise<UniqueEnqueueResult<Result>[]> {
    checkArgsList(task, argsList);
    return await this.#inserts.unique<Result>(
      task,
      argsList,
      mergeRunOptions(task?.runOptions, options as RunOptions),
      "enqueueManyUnique",
    );
  }

  /**
   * Enqueues a workflow: every step of `workflow` in one transaction, each
   * `waiting` until the steps (or stored tasks) it depends on have
   * completed, then queued by the settlement of the last of them. When a
   * step fails for good or is cancelled, the steps that depend on it are
   * cancelled (transitively, `result.reason` says why) unless the
   * dependency was given `runAnyway`; `queue.requeue` of that step brings
   * them back. Await the workflow's end like any task:
   * `queue.waitForResult(ids.of(lastStep))`. See {@linkcode Workflow}.
   *
   * @example Fan-out and fan-in
   * ```ts
   * import { SQLiteBackend, TaskQueue, type TaskContext, Workflow } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const chunk = queue.task("chunk", (index: number) => index * 10);
   * const combine = queue.task("combine", async function (this: TaskContext) {
   *   const parts = await this.parentResults(chunk);
   *   return parts.reduce((sum, part) => sum + part, 0);
   * });
   * const flow = new Workflow("sum");
   * const chunks = [0, 1, 2, 3].map((index) => flow.add(chunk, [index]));
   * const total = flow.add(combine, [], { dependsOn: chunks });
   * const ids = await queue.enqueueWorkflow(flow);
   * console.log((await queue.stats()).waiting); // 1
   * const worker = queue.worker();
   * await worker.start();
   * const result = await queue.waitForResult(ids.of(total), { timeout: 5000 });
   * console.log(result.status === "completed" && result.value); // 60
   * await worker.stop();
   * await queue.close();
   * ```
   *
   * @param workflow The steps, built with `new Workflow()` and `add()`.
   * @returns The ids of its steps (`ids.of(step)`, typed).
   * @throws {WorkflowError} `INVALID_WORKFLOW` for a cycle, a step that
   * depends on itself, a step of another workflow, or a task id no stored
   * task has; nothing is written.
   * @throws {UnknownTaskError} If a step's task is not registered here.
   * @throws {SerializationError} If an argument cannot be stored; nothing is written.
   */
  async enqueueWorkflow(workflow: Workflow): Promise<EnqueuedWorkflow> {
    return await enqueueWorkflow(workflow, this.#inserts.context);
  }

  /**
   * Enqueues through a transaction your code opened on this queue's
   * database, so the tasks commit or roll back with your own writes; see
   * {@linkcode TransactionalQueue}.
   *
   * @param transaction A Kysely transaction on the same database (a `trx`
   * of `db.transaction().execute(...)`), from your own copy of Kysely.
   * @returns A queue view whose `enqueue` and `enqueueMany` write in it.
   * @throws {TypeError} If `transaction` is not a Kysely transaction.
   */
  inTransaction(transaction: DatabaseTransaction): TransactionalQueue {
    checkTransaction(transaction);
    return new TransactionalQueue(transaction, this.#inserts);
  }
}
