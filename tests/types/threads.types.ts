/**
 * Compile-time tests of thread tasks (`threadModule`, `handler()`, the
 * worker's `threads` option), checked by `tsc -p tsconfig.test.json` and
 * `deno check` (never run). Every `@ts-expect-error` line must be an
 * error; tests/types.test.ts proves each one is, by stripping them.
 *
 * @module
 */
import {
  declareTask,
  SQLiteBackend,
  type Task,
  type TaskContext,
  type TaskId,
  TaskQueue,
  type ThreadErrorCode,
  type ThreadHandler,
  threadModule,
  type ThreadPoolOptions,
} from "../../mod.ts";

/** A handler module's type, as `typeof import("./hash.ts")` gives it. */
interface HashModule {
  sha256(this: TaskContext, text: string, rounds: number): string;
  countdown(from: number): Promise<number[]>;
  default(text: string): { length: number };
  wrongThis(this: { other: true }, x: number): void;
  notAHandler: number;
}

const url = new URL("./hash.ts", import.meta.url);
const hashing = threadModule<HashModule>(url);
const queue = new TaskQueue(new SQLiteBackend(":memory:"));

// ---- handlers typed from the module ----------------------------------------

const sha256: ThreadHandler<[text: string, rounds: number], string> = hashing
  .handler("sha256");
const hash: Task<[text: string, rounds: number], string> = queue.task(
  "hash",
  sha256,
  { timeout: 10_000 },
);
const countdown: Task<[from: number], number[]> = queue.task(
  "countdown",
  hashing.handler("countdown"),
);
const measure: Task<[text: string], { length: number }> = queue.task(
  "measure",
  hashing.handler("default"),
);

// @ts-expect-error not an export of the module
hashing.handler("md5");
// @ts-expect-error an export that is not a function
hashing.handler("notAHandler");
// @ts-expect-error a handler whose `this` is not a task context
hashing.handler("wrongThis");
// @ts-expect-error without the module's type, no export name is known
threadModule(url).handler("sha256");

// ---- enqueue checks the module's parameters --------------------------------

const id: TaskId<string> = await queue.enqueue(hash, "abc", 1000);
await queue.enqueue(countdown, 3);
await queue.enqueue(measure, "text");
// @ts-expect-error rounds is a number
await queue.enqueue(hash, "abc", "1000");
// @ts-expect-error rounds is missing
await queue.enqueue(hash, "abc");
const result = await queue.waitForResult(id);
if (result.status === "completed") {
  const value: string = result.value;
  // @ts-expect-error the value is a string
  const wrong: number = result.value;
  void [value, wrong];
}

// ---- a thread handler bound to a declaration -------------------------------

const declared = declareTask<[text: string, rounds: number], string>("sha");
queue.task(declared, hashing.handler("sha256"));
const other = declareTask<[text: string], string>("other");
// @ts-expect-error the handler takes (text, rounds), the declaration (text)
queue.task(other, hashing.handler("sha256"));

// ---- the worker's threads option -------------------------------------------

const threads: ThreadPoolOptions = {
  size: 2,
  resourceLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 4 },
  serializer: new URL("./serializer.ts", import.meta.url),
};
queue.worker({ concurrency: 2, threads });
// @ts-expect-error a size is a number
queue.worker({ threads: { size: "2" } });
// @ts-expect-error not a resource limit
queue.worker({ threads: { resourceLimits: { heapMb: 64 } } });

const code: ThreadErrorCode = "THREAD_OUT_OF_MEMORY";
// @ts-expect-error not a thread error code
const badCode: ThreadErrorCode = "OUT_OF_MEMORY";
void [code, badCode];

await queue.close();
