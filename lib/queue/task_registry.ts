/**
 * The tasks a queue knows: each name either declared (a
 * {@linkcode TaskDeclaration}, no handler), bound to a handler, or both (a
 * handler bound to a declaration). Enqueueing asks it whether a name is
 * known; `queue.worker()` hands its live list of bound tasks to workers.
 *
 * The rules, one name at a time: one handler per name; a declared name is
 * bound only through its declaration (so the compiler checks the handler);
 * two declarations of a name must agree (same options).
 *
 * @module
 */
import {
  DeclarationConflictError,
  DuplicateTaskError,
  UnknownTaskError,
} from "../core/errors.ts";
import {
  type BindOptions,
  boundOptions,
  checkBindOptions,
  checkDeclaration,
  isTaskDeclaration,
  sameDeclaration,
  type TaskDeclaration,
} from "../core/declaration.ts";
import {
  checkTaskName,
  checkTaskOptions,
  createTask,
  type Task,
  type TaskHandler,
  type TaskOptions,
} from "../core/task.ts";

type AnyDeclaration = TaskDeclaration<never, unknown>;

/** What the queue knows of one name. */
interface Entry {
  /** The declaration the name was declared or bound with, if any. */
  declaration?: AnyDeclaration;
  /** The task with its handler, once one is bound. */
  task?: Task<never, unknown>;
}

/** The registered tasks of one queue, by name and in definition order. */
export class TaskRegistry {
  readonly #byName = new Map<string, Entry>();
  /**
   * The tasks with handlers, in definition order, as one array that grows
   * in place: `queue.worker()` hands this very array to its workers, which
   * read it when they start (so a task defined after `queue.worker()` but
   * before `start()` is run too). Declarations without a handler are not
   * in it: a worker runs only what it can run. Read it; only
   * {@linkcode TaskRegistry.define} and {@linkcode TaskRegistry.bind}
   * change it.
   */
  readonly live: readonly Task<never, unknown>[] = [];

  /** How many names are declared without a handler bound here. */
  get unboundCount(): number {
    let count = 0;
    for (const entry of this.#byName.values()) {
      if (entry.task === undefined) count++;
    }
    return count;
  }

  /**
   * Registers `handler` under `name` and returns the task. Registering the
   * same handler again under its name replaces the task in place (new
   * options, same position).
   *
   * @throws {TypeError | RangeError} If the name, the handler or an option
   * is invalid.
   * @throws {DuplicateTaskError} If another handler has the name.
   * @throws {DeclarationConflictError} If the name is declared here.
   */
  define<Args extends unknown[], Result>(
    name: string,
    handler: TaskHandler<Args, Result>,
    options: TaskOptions,
  ): Task<Args, Awaited<Result>> {
    checkTaskName(name);
    checkHandler(handler, `define task "${name}"`);
    checkTaskOptions(options, name);
    const existing = this.#byName.get(name);
    if (existing?.declaration !== undefined) {
      throw new DeclarationConflictError(
        name,
        `Cannot define task "${name}" with a handler of its own: it is declared on this queue; bind the handler to its declaration with queue.task(declaration, handler), so the compiler checks it against the declared types`,
      );
    }
    if (existing?.task !== undefined && existing.task.handler !== handler) {
      throw new DuplicateTaskError(
        name,
        `Cannot define task "${name}": another handler is already registered under that name on this queue; pick another name`,
      );
    }
    const task = createTask<Args, Awaited<Result>>(
      name,
      handler as TaskHandler<Args, Awaited<Result> | Promise<Awaited<Result>>>,
      options,
    );
    this.#store(name, existing, { task: task as never });
    return task;
  }

  /**
   * Registers declarations without a handler, so that this queue may
   * enqueue them. Declaring one again (or an equal declaration of its
   * name) does nothing. All are checked before any is kept: a bad one
   * registers none.
   *
   * @throws {TypeError} If one is not from `declareTask()`.
   * @throws {DeclarationConflictError} If a name is registered (or given
   * earlier in the list) with another declaration, or as a task with its
   * own handler.
   */
  declare(declarations: readonly unknown[]): void {
    const added = new Map<string, Entry>();
    for (const declaration of declarations) {
      checkDeclaration(declaration, "declare a task");
      const { name } = declaration;
      const existing = this.#byName.get(name) ?? added.get(name);
      this.#checkAgrees(declaration, existing, "declare");
      if (existing === undefined) added.set(name, { declaration });
    }
    for (const [name, entry] of added) this.#byName.set(name, entry);
  }

  /**
   * Binds `handler` to a declaration (declaring it if needed) and returns
   * the task. Binding the same handler again replaces the task in place,
   * with the new bind options.
   *
   * @throws {TypeError | RangeError} If `declaration` is not from
   * `declareTask()`, the handler is not a function, or an option is
   * invalid or belongs to the declaration.
   * @throws {DeclarationConflictError} If the name is registered with
   * another declaration, or as a task with its own handler.
   * @throws {DuplicateTaskError} If another handler is bound to it.
   */
  bind<Args extends unknown[], Result>(
    declaration: TaskDeclaration<Args, Result>,
    handler: TaskHandler<Args, Result | Promise<Result>>,
    options: BindOptions | undefined,
  ): Task<Args, Result> {
    checkDeclaration(declaration, "bind a handler to a task");
    const { name } = declaration;
    checkHandler(handler, `bind a handler to task "${name}"`);
    checkBindOptions(options, name);
    const existing = this.#byName.get(name);
    this.#checkAgrees(declaration, existing, "bind a handler to");
    if (existing?.task !== undefined && existing.task.handler !== handler) {
      throw new DuplicateTaskError(
        name,
        `Cannot bind a handler to task "${name}": another handler is already bound to it on this queue; a task has one handler per queue`,
      );
    }
    const task = createTask<Args, Result>(
      name,
      handler,
      boundOptions(declaration, options),
    );
    this.#store(name, existing, {
      declaration: existing?.declaration ?? declaration,
      task: task as never,
    });
    return task;
  }

  /**
   * Throws unless a task of `task`'s name is registered here (declared or
   * with a handler). A task object is compared by name only: it is what is
   * stored and what workers look up. A declaration must also agree with
   * the one registered, since its options fill the row.
   *
   * @param task What the caller passed as a task.
   * @param action What is being done, for the message: "enqueue".
   * @throws {UnknownTaskError} If no task of that name is registered, or
   * `task` is not a task object at all.
   * @throws {DeclarationConflictError} If `task` is a declaration that
   * differs from the registered one.
   */
  checkRegistered(task: unknown, action: string): void {
    const name = typeof task === "object" && task !== null
      ? (task as { name?: unknown }).name
      : undefined;
    const entry = typeof name === "string" ? this.#byName.get(name) : undefined;
    const declared = isTaskDeclaration(task);
    if (entry === undefined) {
      throw new UnknownTaskError(
        String(name ?? task),
        action,
        declared
          ? `register its declaration first: queue.declare(declaration) in a process that only enqueues, or queue.task(declaration, handler) where it runs`
          : undefined,
      );
    }
    if (declared) this.#checkAgrees(task, entry, action);
  }

  /**
   * Throws unless `declaration` may stand for its name here: the name is
   * free, or declared with an equal declaration.
   */
  #checkAgrees(
    declaration: AnyDeclaration,
    existing: Entry | undefined,
    action: string,
  ): void {
    if (existing === undefined) return;
    const { name } = declaration;
    if (existing.declaration === undefined) {
      throw new DeclarationConflictError(
        name,
        `Cannot ${action} task "${name}" from its declaration: a task of that name with a handler of its own is defined on this queue (queue.task("${name}", handler)); define it from the declaration instead, with queue.task(declaration, handler)`,
      );
    }
    if (!sameDeclaration(existing.declaration, declaration)) {
      throw new DeclarationConflictError(
        name,
        `Cannot ${action} task "${name}": it is registered on this queue with another declaration (options ${
          describeOptions(existing.declaration)
        }, given ${
          describeOptions(declaration)
        }); every process must share one declaration of a task, so import it from one module`,
      );
    }
  }

  /** Records `entry` under `name`, keeping a replaced task's position. */
  #store(name: string, existing: Entry | undefined, entry: Entry): void {
    const live = this.live as Task<never, unknown>[];
    this.#byName.set(name, entry);
    if (entry.task === undefined) return;
    const index = existing?.task === undefined
      ? -1
      : live.indexOf(existing.task);
    if (index === -1) live.push(entry.task);
    else live[index] = entry.task;
  }
}

function checkHandler(handler: unknown, action: string): void {
  if (typeof handler !== "function") {
    throw new TypeError(
      `Cannot ${action} as its handler must be a function: current value is ${typeof handler}`,
    );
  }
}

/** A declaration's options for a message; a function backoff by its name. */
function describeOptions(declaration: AnyDeclaration): string {
  return JSON.stringify(
    declaration.options,
    (_, value) =>
      typeof value === "function"
        ? `[function ${value.name || "anonymous"}]`
        : value,
  );
}
