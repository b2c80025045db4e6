/**
 * Compile-time tests of the public API's typing, checked by
 * `tsc -p tsconfig.test.json` (never run). Every `@ts-expect-error` line must
 * be an error; tests/types.test.ts proves each one is, by stripping them.
 *
 * @module
 */
import {
  SQLiteBackend,
  type TaskContext,
  type TaskId,
  TaskQueue,
  Worker,
} from "../../mod.ts";

const queue = new TaskQueue(new SQLiteBackend(":memory:"));

const resize = queue.task(
  "resize",
  // async on purpose: the result type must be the awaited value.
  async (path: string, width: number) => ({
    path,
    width: await Promise.resolve(width),
  }),
);
const count = queue.task("count", (items: string[]) => items.length);
const noArgs = queue.task("noArgs", () => "done");

// ---- enqueue: argument types and count come from the handler ---------------

const id: TaskId<{ path: string; width: number }> = await queue.enqueue(
  resize,
  "cat.png",
  200,
);
await queue.enqueue(count, ["a", "b"]);
await queue.enqueue(noArgs);

// @ts-expect-error width must be a number
await queue.enqueue(resize, "cat.png", "200");
// @ts-expect-error width is missing
await queue.enqueue(resize, "cat.png");
// @ts-expect-error one argument too many
await queue.enqueue(resize, "cat.png", 200, true);
// @ts-expect-error the task takes no arguments
await queue.enqueue(noArgs, 1);
// @ts-expect-error a handler is not a task
await queue.enqueue((path: string) => path, "cat.png");

// ---- task.with keeps the task's typing --------------------------------------

await queue.enqueue(resize.with({ delay: 5000, priority: 10 }), "dog.png", 100);
await queue.enqueue(
  resize.with({ runAt: new Date() }).with({ timeout: 1 }),
  "x",
  1,
);
// @ts-expect-error with() keeps the argument types
await queue.enqueue(resize.with({ delay: 5000 }), 100, "dog.png");
// @ts-expect-error with() takes run options only
resize.with({ bogus: 1 });
// @ts-expect-error delay is a number of milliseconds
resize.with({ delay: "5s" });

// ---- enqueueMany: every item is the handler's argument list -------------------

const ids: TaskId<{ path: string; width: number }>[] = await queue.enqueueMany(
  resize,
  [["a.png", 1], ["b.png", 2]],
  { priority: 1 },
);
// @ts-expect-error an item has a string where the width goes
await queue.enqueueMany(resize, [["a.png", 1], ["b.png", "2"]]);
// @ts-expect-error an item is not an argument list
await queue.enqueueMany(count, [["a"], "b"]);
// @ts-expect-error an item misses an argument
await queue.enqueueMany(resize, [["a.png"]]);

// ---- waitForResult / getResult: the value's type comes from the task ---------

const result = await queue.waitForResult(id);
if (result.status === "completed") {
  const value: { path: string; width: number } = result.value;
  const width: number = result.value.width;
  // @ts-expect-error the value is an object, not a string
  const wrong: string = result.value;
  // @ts-expect-error width is a number
  const wrongWidth: string = result.value.width;
  console.log(value, width, wrong, wrongWidth);
}
// @ts-expect-error only a completed result has a value
console.log(result.value);

const counted = await queue.waitForResult(await queue.enqueue(count, []));
if (counted.status === "completed") {
  const n: number = counted.value; // Awaited: a sync handler's number
  // @ts-expect-error count's value is a number
  const s: string = counted.value;
  console.log(n, s);
}
for (const each of ids) {
  const now = await queue.getResult(each);
  if (now.status === "completed") {
    const path: string = now.value.path;
    // @ts-expect-error path is a string
    const wrongPath: number = now.value.path;
    console.log(path, wrongPath);
  }
}
// @ts-expect-error an id is a number
await queue.waitForResult("1");

// Ids of different tasks mix: the value is the union of their results.
const mixed = [id, await queue.enqueue(count, ["a"])];
for (
  const final of await Promise.all(
    mixed.map((each) => queue.waitForResult(each)),
  )
) {
  if (final.status === "completed") {
    const either: { path: string; width: number } | number = final.value;
    // @ts-expect-error it may be the count
    const onlyResize: { path: string; width: number } = final.value;
    console.log(either, onlyResize);
  }
}
// A plain number is accepted; its value is unknown.
const loose = await queue.getResult(1);
if (loose.status === "completed") {
  const value: unknown = loose.value;
  // @ts-expect-error unknown until narrowed
  const n: number = loose.value;
  console.log(value, n);
}

// ---- handlers: `this: TaskContext` ------------------------------------------

const crawl = queue.task(
  "crawl",
  async function (this: TaskContext, urls: string[]) {
    for (const [index, url] of urls.entries()) {
      this.signal.throwIfAborted();
      await this.reportProgress({ index, url });
    }
    const attempt: number = this.attempt;
    return { attempt, of: this.maxAttempts, by: this.workerId };
  },
);
await queue.enqueue(crawl, ["https://example.com"]);
// @ts-expect-error crawl takes a list of URLs
await queue.enqueue(crawl, "https://example.com");
queue.task("badContext", function (this: TaskContext) {
  // @ts-expect-error the context is read-only
  this.attempt = 2;
  // @ts-expect-error the context has no such member
  return this.bogus;
});

// ---- options: unknown keys and wrong types are errors --------------------------

queue.task("opts", () => 1, {
  maxAttempts: 5,
  backoff: { type: "exponential", delay: 100, maxDelay: 1000, jitter: false },
  timeout: 1000,
  priority: 1,
});
queue.task("fnBackoff", () => 1, { backoff: (attempt) => attempt * 100 });
// @ts-expect-error unknown option key
queue.task("bogus", () => 1, { bogus: 1 });
// @ts-expect-error maxAttempts is a number
queue.task("badAttempts", () => 1, { maxAttempts: "3" });
// @ts-expect-error unknown backoff type
queue.task("badBackoff", () => 1, { backoff: { type: "linear", delay: 1 } });
// @ts-expect-error enqueueMany options are run options
await queue.enqueueMany(resize, [], { bogus: true });

// ---- workers --------------------------------------------------------------------

const worker = new Worker(queue.backend, {
  tasks: [resize, count, crawl],
  concurrency: 4,
});
worker.on("completed", ({ id: done, value }) => console.log(done, value));
// @ts-expect-error no such event
worker.on("finished", () => {});
// @ts-expect-error tasks are required
new Worker(queue.backend, { concurrency: 4 });
// @ts-expect-error unknown worker option
new Worker(queue.backend, { tasks: [resize], bogus: 1 });
await worker.stop();
await queue.close();
