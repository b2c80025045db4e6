/**
 * The contract of a module `sitq worker <module>` runs, and loading it.
 *
 * The module's default export (or a named export `setup`) is a function
 * that receives the `TaskQueue` the CLI opened on the database and defines
 * the tasks on it, as an application would:
 *
 * ```ts
 * // tasks.ts
 * import type { TaskQueue } from "sitq";
 *
 * export default function setup(queue: TaskQueue) {
 *   queue.task("resize", async (path: string, width: number) => ({ path, width }));
 *   queue.task("email", async (to: string) => `sent to ${to}`);
 * }
 * ```
 *
 * A function rather than `Task` objects, because a task is bound to the
 * queue it is defined on, and the CLI owns the queue (its database comes
 * from `--db`); declarations (`declareTask`) that producers share are bound
 * the same way, `queue.task(declaration, handler)`. It may be async (open
 * what the handlers need). A module may also export `serializer` (a
 * `Serializer`) when its producers use another than superjson.
 *
 * @module
 */
import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Serializer } from "../core/serializer.ts";
import type { TaskQueue } from "../queue/task_queue.ts";
import { CliError, EXIT } from "./errors.ts";

/** Which of the N processes of `sitq worker` runs the setup, from 0. */
export interface WorkerSetupInfo {
  /** This process's index among `--processes` (0 when only one). */
  processIndex: number;
}

/** What a worker module exports as default (or as `setup`). */
export type WorkerSetup = (
  queue: TaskQueue,
  info: WorkerSetupInfo,
) => void | Promise<void>;

/** A loaded worker module. */
export interface WorkerModule {
  /** Defines the tasks on a queue. */
  setup: WorkerSetup;
  /** Its serializer, if it exports one. */
  serializer?: Serializer;
}

/** The URL to import for `spec`: a path (relative to the cwd) or a URL. */
export function moduleUrl(spec: string): string {
  return /^(file|https?|data|jsr|npm):/.test(spec)
    ? spec
    : pathToFileURL(resolve(spec)).href;
}

/**
 * Imports the module at `spec` and checks its exports.
 *
 * @throws {CliError} NOT_FOUND for a missing file; USAGE when it cannot be
 * imported (a syntax error, TypeScript on Node 20) or exports no setup
 * function.
 */
export async function loadWorkerModule(spec: string): Promise<WorkerModule> {
  const url = moduleUrl(spec);
  if (url.startsWith("file:") && !existsSync(fileURLToPath(url))) {
    throw new CliError(
      `no worker module at ${spec}`,
      EXIT.NOT_FOUND,
      "NOT_FOUND",
    );
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(url) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(
      `cannot import worker module ${spec}: ${
        error instanceof Error ? error.message.split("\n")[0] : String(error)
      }`,
      EXIT.USAGE,
      "MODULE_LOAD",
    );
  }
  const setup = namespace.default ?? namespace.setup;
  if (typeof setup !== "function") {
    throw new CliError(
      `worker module ${spec} must export a function as default (or as "setup") that defines tasks on the queue it receives: export default (queue) => { queue.task("name", handler) }`,
      EXIT.USAGE,
      "MODULE_CONTRACT",
    );
  }
  const serializer = namespace.serializer as Serializer | undefined;
  return {
    setup: setup as WorkerSetup,
    ...(serializer === undefined ? {} : { serializer }),
  };
}
