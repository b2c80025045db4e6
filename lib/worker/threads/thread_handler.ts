/**
 * Handlers that run in worker threads: a module's URL and the name of one
 * of its exports, typed from the module itself. `threadModule()` names the
 * module; its `handler(name)` returns a function that `queue.task()` takes
 * like any handler, and that a worker runs in its thread pool instead of on
 * its event loop (see `pool.ts`).
 *
 * @module
 */
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { TaskContext } from "../../core/task.ts";
import { show } from "../../core/validate.ts";

/**
 * Marks the functions {@linkcode ThreadModule.handler} makes. `Symbol.for`,
 * so that a handler made by a second copy of sitq is still recognised.
 */
const THREAD_HANDLER: unique symbol = Symbol.for("sitq.threadHandler") as never;

/** Where a thread handler lives: a module and one of its exports. */
export interface ThreadHandlerSource {
  /** The module's URL as the thread imports it, e.g. `file:///app/hash.ts`. */
  readonly module: string;
  /** The name of the export, e.g. `"sha256"` or `"default"`. */
  readonly export: string;
}

/**
 * The names of `Module`'s exports that can be a task's handler: functions
 * whose `this`, if they declare one, accepts a {@linkcode TaskContext}.
 *
 * @typeParam Module The module's type: `typeof import("./hash.ts")`.
 */
export type HandlerExportName<Module> =
  & {
    [Name in keyof Module]: Module[Name] extends
      (this: TaskContext, ...args: never) => unknown ? Name : never;
  }[keyof Module]
  & string;

/** The parameter list of a handler `Fn` (its `this` left out). */
export type HandlerArgs<Fn> = Fn extends (...args: infer Args) => unknown ? Args
  : never;

/** What a handler `Fn` resolves to. */
export type HandlerResult<Fn> = Fn extends (...args: never) => infer Result
  ? Awaited<Result>
  : never;

/**
 * A handler that runs in a worker thread: what
 * {@linkcode ThreadModule.handler} returns and `queue.task()` takes. A
 * worker runs it in its thread pool (see `WorkerOptions.threads`): the
 * thread imports `source.module` and calls the export with the
 * deserialized arguments and a {@linkcode TaskContext}.
 *
 * Called directly (in a unit test, say), it imports the module in the
 * calling thread and runs the export there.
 *
 * @typeParam Args The export's parameter list.
 * @typeParam Result What the export resolves to.
 */
export interface ThreadHandler<Args extends unknown[], Result> {
  /** Runs the export in the calling thread (a worker runs it in its pool). */
  (this: TaskContext, ...args: Args): Promise<Result>;
  /** The module and export the thread runs. */
  readonly source: ThreadHandlerSource;
}

/**
 * A module of handlers to run in worker threads: what
 * {@linkcode threadModule} returns.
 *
 * @typeParam Module The module's type, `typeof import("./hash.ts")`.
 */
export interface ThreadModule<Module> {
  /** The module's URL as the thread imports it. */
  readonly url: string;
  /**
   * The handler exported as `name`, typed from the module: pass it to
   * `queue.task(name, handler, options)` or `queue.task(declaration,
   * handler)`. The same name returns the same handler.
   *
   * @param name An export of the module that is a function.
   * @throws {TypeError} If `name` is not a non-empty string.
   */
  handler<Name extends HandlerExportName<Module>>(
    name: Name,
  ): ThreadHandler<HandlerArgs<Module[Name]>, HandlerResult<Module[Name]>>;
}

/**
 * Names a module whose exports are handlers to run in worker threads, so
 * that CPU-bound work runs in parallel and a timeout really stops it: a
 * worker runs such a task in its pool of `node:worker_threads` threads, and
 * terminates the thread when the attempt times out, is interrupted by a
 * stop, or loses its lease.
 *
 * Give the module's type (`typeof import("./hash.ts")`, or `typeof
 * module` after `import type * as module from "./hash.ts"`): it types the
 * handler's arguments and result, and which export names `handler()`
 * accepts. The module is never imported here, only in the threads.
 *
 * The module runs in a thread of its own: it cannot see the worker's
 * variables, and arguments and results cross the thread boundary as text
 * made by the serializer. On Node the module must be JavaScript, or
 * TypeScript on Node 22.6+ where type stripping is on (default from 22.18);
 * Bun and Deno run TypeScript modules as they are.
 *
 * @example A CPU-bound task in a thread
 * ```ts ignore
 * // hash.ts
 * import type { TaskContext } from "sitq";
 * export function sha256(this: TaskContext, text: string, rounds: number): string {
 *   // ... CPU-bound work ...
 *   return text;
 * }
 *
 * // main.ts
 * import { SQLiteBackend, TaskQueue, threadModule } from "sitq";
 *
 * const hashing = threadModule<typeof import("./hash.ts")>(
 *   new URL("./hash.ts", import.meta.url),
 * );
 * const queue = new TaskQueue(new SQLiteBackend("tasks.db"));
 * const hash = queue.task("hash", hashing.handler("sha256"), { timeout: 10_000 });
 * await queue.enqueue(hash, "abc", 1000); // checked against sha256's parameters
 * const worker = queue.worker({ concurrency: 2, threads: { size: 2 } });
 * ```
 *
 * @typeParam Module The module's type.
 * @param module The module: a `URL` (`new URL("./hash.ts",
 * import.meta.url)`), a URL string, or an absolute file path.
 * @returns The module, whose `handler(name)` makes its handlers.
 * @throws {TypeError} If `module` is not a URL or an absolute path.
 */
export function threadModule<Module>(
  module: URL | string,
): ThreadModule<Module> {
  const url = moduleUrl(module);
  const handlers = new Map<string, ThreadHandler<never, unknown>>();
  return Object.freeze({
    url,
    handler(name: string) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError(
          `Cannot make a thread handler of module ${url} as the export's name must be a non-empty string: current value is ${
            show(name)
          }`,
        );
      }
      let handler = handlers.get(name);
      if (handler === undefined) {
        handler = makeHandler({ module: url, export: name });
        handlers.set(name, handler);
      }
      return handler;
    },
  }) as ThreadModule<Module>;
}

/**
 * `module` (a `URL`, a URL string or an absolute path) as a URL string, or
 * undefined for anything else: a relative path has no base a thread could
 * resolve it against.
 */
export function parseModuleUrl(module: unknown): string | undefined {
  if (module instanceof URL) return module.href;
  if (typeof module !== "string") return undefined;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  return URL.canParse(module) ? new URL(module).href : undefined;
}

function moduleUrl(module: unknown): string {
  const url = parseModuleUrl(module);
  if (url !== undefined) return url;
  throw new TypeError(
    `Cannot name a thread module as it must be a URL or an absolute path, e.g. new URL("./hash.ts", import.meta.url): current value is ${
      show(module)
    }${
      typeof module === "string"
        ? " (a relative path has no base a thread could resolve it against)"
        : ""
    }`,
  );
}

function makeHandler(
  source: ThreadHandlerSource,
): ThreadHandler<never, unknown> {
  const handler = async function (
    this: TaskContext,
    ...args: unknown[]
  ): Promise<unknown> {
    const exports = await import(source.module) as Record<string, unknown>;
    const fn = exports[source.export];
    if (typeof fn !== "function") {
      throw new TypeError(missingExportMessage(source, fn));
    }
    return await fn.apply(this, args);
  };
  Object.defineProperty(handler, "name", { value: source.export });
  Object.defineProperty(handler, "source", {
    value: Object.freeze({ ...source }),
    enumerable: true,
  });
  Object.defineProperty(handler, THREAD_HANDLER, { value: true });
  return Object.freeze(handler) as unknown as ThreadHandler<never, unknown>;
}

/**
 * The message for a module that lacks the export, or exports something
 * other than a function under its name.
 */
export function missingExportMessage(
  source: ThreadHandlerSource,
  found: unknown,
): string {
  return `Cannot run export "${source.export}" of module ${source.module} as a task handler: ${
    found === undefined
      ? "the module has no such export"
      : `it is ${typeof found}, not a function`
  }`;
}

/**
 * Where `handler` runs, if it is a thread handler; `undefined` for a
 * handler that runs on the worker's event loop.
 */
export function threadSourceOf(
  handler: unknown,
): ThreadHandlerSource | undefined {
  if (typeof handler !== "function") return undefined;
  if ((handler as { [THREAD_HANDLER]?: unknown })[THREAD_HANDLER] !== true) {
    return undefined;
  }
  return (handler as ThreadHandler<never, unknown>).source;
}
