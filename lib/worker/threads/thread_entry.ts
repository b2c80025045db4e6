/**
 * The thread's side: the module each pool thread runs. It waits for `run`
 * messages, imports the handler's module (once per thread), deserializes
 * the arguments, calls the handler with a task context whose
 * `reportProgress` goes through the worker, and sends back the serialized
 * result or the error. One run at a time: the pool never sends a second
 * before the first is answered.
 *
 * The pool finds this file next to its own module (`.ts` in the sources,
 * `.js` in dist/), so it must stay in this folder.
 *
 * @module
 */
import process from "node:process";
import { parentPort, workerData } from "node:worker_threads";
import { coerceError } from "../../core/coerce_error.ts";
import { PermanentError, type SerializationError } from "../../core/errors.ts";
import {
  serializeOrThrow,
  type Serializer,
  SuperJsonSerializer,
} from "../../core/serializer.ts";
import { toStoredError } from "../../core/stored_error.ts";
import type { TaskContext } from "../../core/task.ts";
import type { TaskId } from "../../core/types.ts";
import { checkSerializer } from "../../core/validate_shapes.ts";
import {
  type FromThread,
  type ProgressSavedMessage,
  rebuildStored,
  type RunMessage,
  type ThreadData,
  type ToThread,
} from "./messages.ts";
import { missingExportMessage } from "./thread_handler.ts";

if (parentPort === null) {
  throw new Error(
    "sitq's thread entry runs only as a worker thread started by a sitq worker",
  );
}
const port = parentPort;
const data = (workerData ?? {}) as ThreadData;
const serializer = loadSerializer(data.serializer);
// Kept from the first failure: an unhandled rejection would end the thread.
serializer.catch(() => {});
const modules = new Map<string, Promise<Record<string, unknown>>>();
const progressRequests = new Map<
  number,
  { resolve: () => void; reject: (error: Error) => void }
>();
let nextRequest = 0;

port.on("message", (message: ToThread) => {
  if (message.type === "run") void run(message);
  else settleProgress(message);
});
// An exception that escaped the handler leaves the thread in an unknown
// state: report it (with its stack, which not every runtime's `error` event
// keeps) and end the thread; the worker fails the attempt it was running.
const crash = (error: unknown) => {
  send({ type: "crashed", error: toStoredError(error) });
  process.exit(1);
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);
send({ type: "ready" });

function send(message: FromThread): void {
  port.postMessage(message);
}

async function loadSerializer(module: string | undefined): Promise<Serializer> {
  if (module === undefined) return new SuperJsonSerializer();
  let exports: Record<string, unknown>;
  try {
    exports = await import(module) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `Cannot load the threads' serializer module ${module}: ${
        coerceError(error).message
      }`,
      { cause: error },
    );
  }
  const value = exports.default;
  checkSerializer(
    value,
    `use the default export of ${module} as the threads' serializer`,
    "default",
  );
  return value as Serializer;
}

function importModule(url: string): Promise<Record<string, unknown>> {
  let loading = modules.get(url);
  if (loading === undefined) {
    loading = import(url).then(
      (exports) => exports as Record<string, unknown>,
      (error) => {
        // A failed import is not cached: the file may be fixed by a deploy.
        modules.delete(url);
        throw new Error(
          `Cannot load the handler module ${url} in a worker thread: ${
            coerceError(error).message
          }${typeScriptHint(url, error)}`,
          { cause: error },
        );
      },
    );
    modules.set(url, loading);
  }
  return loading;
}

/** A hint for a TypeScript module on a Node that cannot strip types. */
function typeScriptHint(url: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return /\.[mc]?ts$/.test(url) && code === "ERR_UNKNOWN_FILE_EXTENSION"
    ? " (this Node cannot import TypeScript: use Node 22.18 or later, Node 22.6+ with --experimental-strip-types, or compile the module to JavaScript)"
    : "";
}

async function run(message: RunMessage): Promise<void> {
  const fail = (error: unknown, permanent: boolean) =>
    send({
      type: "failed",
      run: message.run,
      error: toStoredError(error),
      permanent,
    });
  let format: Serializer;
  let handler: (this: TaskContext, ...args: unknown[]) => unknown;
  try {
    format = await serializer;
    const exports = await importModule(message.module);
    const found = exports[message.export];
    if (typeof found !== "function") {
      throw new TypeError(missingExportMessage(message, found));
    }
    handler = found as typeof handler;
  } catch (error) {
    fail(error, false);
    return;
  }
  let args: unknown;
  try {
    args = format.deserialize(message.args);
    if (!Array.isArray(args)) {
      throw new TypeError("stored arguments are not a list");
    }
  } catch (error) {
    fail(
      new PermanentError(
        `Cannot read the arguments of task ${message.context.id}: ${
          coerceError(error).message
        }; was it enqueued with another serializer?`,
        { cause: error },
      ),
      true,
    );
    return;
  }
  let value: unknown;
  try {
    value = await handler.apply(context(message, format), args as unknown[]);
  } catch (error) {
    fail(error, isPermanent(error));
    return;
  }
  if (value === undefined) {
    // Stored as NULL, as on the event loop (see decodeResult).
    send({ type: "done", run: message.run, result: null });
    return;
  }
  let result: string;
  try {
    result = serializeOrThrow(
      format,
      value,
      `the result of task "${message.context.name}"`,
    );
  } catch (error) {
    // As on the event loop: running it again would repeat its side effects
    // for the same unstorable result, so the failure is final.
    fail(new PermanentError((error as SerializationError).message), true);
    return;
  }
  send({ type: "done", run: message.run, result });
}

/**
 * Whether `error` says "do not retry": a `PermanentError` of this copy of
 * sitq, or of another (the handler's module may import sitq from elsewhere).
 */
function isPermanent(error: unknown): boolean {
  if (error instanceof PermanentError) return true;
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  return code === "PERMANENT" && typeof name === "string";
}

/** The parent reads, which a thread cannot make: each rejects, saying so. */
function noParents(
  id: number,
): Pick<TaskContext, "parents" | "parentResult" | "parentResults"> {
  const refuse = () =>
    Promise.reject(
      new TypeError(
        `Cannot read the parents of task ${id} in a worker thread: this.parents(), this.parentResult() and this.parentResults() work in handlers run on the worker's event loop; pass what the step needs as arguments, or read it there`,
      ),
    );
  return { parents: refuse, parentResult: refuse, parentResults: refuse };
}

function context(message: RunMessage, format: Serializer): TaskContext {
  const { id, name, attempt, maxAttempts, workerId } = message.context;
  // The worker stops an attempt by terminating its thread, so this signal
  // never fires: it is here for handlers shared with the event loop.
  const controller = new AbortController();
  return {
    id: id as TaskId,
    name,
    attempt,
    maxAttempts,
    workerId,
    signal: controller.signal,
    // Parents are read on the event loop only (see TaskContext.parents).
    ...noParents(id),
    async reportProgress(progress: unknown): Promise<void> {
      const text = serializeOrThrow(
        format,
        progress,
        `the progress of task ${id}`,
      );
      const request = nextRequest++;
      await new Promise<void>((resolve, reject) => {
        progressRequests.set(request, { resolve, reject });
        send({ type: "progress", run: message.run, request, progress: text });
      });
    },
  };
}

function settleProgress(message: ProgressSavedMessage): void {
  const waiting = progressRequests.get(message.request);
  if (waiting === undefined) return;
  progressRequests.delete(message.request);
  if (message.error === undefined) waiting.resolve();
  else waiting.reject(rebuildStored(message.error));
}
