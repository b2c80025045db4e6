/**
 * Compile-time tests of task declarations (`declareTask`, `queue.declare`,
 * `queue.task(declaration, handler)`), checked by `tsc -p
 * tsconfig.test.json` and `deno check` (never run). Every
 * `@ts-expect-error` line must be an error; tests/types.test.ts proves each
 * one is, by stripping them.
 *
 * @module
 */
import {
  type DatabaseTransaction,
  declareTask,
  SQLiteBackend,
  type Task,
  type TaskContext,
  type TaskDeclaration,
  type TaskId,
  TaskQueue,
  Worker,
} from "../../mod.ts";

// ---- the shared module: names and types, no handler ---------------------------

const resize = declareTask<
  [path: string, width: number],
  { path: string; width: number }
>("resize", { maxAttempts: 5, timeout: 30_000 });
const email = declareTask<[to: string, subject: string], void>("email");
const tick = declareTask<[], number>("tick", { priority: 1 });

// @ts-expect-error declared options are task options
declareTask<[string], string>("bad", { delay: 5 });
// @ts-expect-error the argument list is a tuple (or array) type
declareTask<string, string>("bad");

// ---- a producer: declare, enqueue, read typed results -----------------------------

const producer = new TaskQueue(new SQLiteBackend(":memory:"));
producer.declare(resize, email, tick);

const id: TaskId<{ path: string; width: number }> = await producer.enqueue(
  resize,
  "cat.png",
  200,
);
await producer.enqueue(email, "ada@example.com", "hello");
await producer.enqueue(tick);
await producer.enqueue(resize.with({ delay: 5000 }), "dog.png", 100);
const many: TaskId<void>[] = await producer.enqueueMany(email, [
  ["a@example.com", "a"],
  ["b@example.com", "b"],
]);

// @ts-expect-error width must be a number
await producer.enqueue(resize, "cat.png", "200");
// @ts-expect-error width is missing
await producer.enqueue(resize, "cat.png");
// @ts-expect-error one argument too many
await producer.enqueue(tick, 1);
// @ts-expect-error with() keeps the declared argument types
await producer.enqueue(resize.with({ priority: 2 }), 200, "cat.png");
// @ts-expect-error an item misses the subject
await producer.enqueueMany(email, [["a@example.com"]]);
// @ts-expect-error a declaration's with() takes run options only
resize.with({ backoff: { type: "fixed", delay: 1 } });

const result = await producer.waitForResult(id);
if (result.status === "completed") {
  const width: number = result.value.width;
  // @ts-expect-error the declared result's path is a string
  const wrong: number = result.value.path;
  console.log(width, wrong);
}
const ticked = await producer.getResult(await producer.enqueue(tick));
if (ticked.status === "completed") {
  const n: number = ticked.value;
  // @ts-expect-error tick's declared result is a number
  const s: string = ticked.value;
  console.log(n, s);
}
console.log(many);

// In the application's own transaction, the same checks.
declare const trx: DatabaseTransaction;
const inTrx: TaskId<{ path: string; width: number }> = await producer
  .inTransaction(trx).enqueue(resize, "t.png", 1);
// @ts-expect-error width must be a number in a transaction too
await producer.inTransaction(trx).enqueue(resize, "t.png", "1");
console.log(inTrx);

// ---- what declare() takes ----------------------------------------------------

const plain = producer.task("plain", (n: number) => n);
// @ts-expect-error a task with a handler is not a declaration
producer.declare(plain);
// @ts-expect-error a name is not a declaration
producer.declare("resize");

// ---- a worker: handlers bound to the declarations, checked against them -------

const worker = new TaskQueue(producer.backend);
const boundResize: Task<
  [path: string, width: number],
  { path: string; width: number }
> = worker.task(resize, async (path, width) => {
  // Parameters are typed from the declaration.
  const upper: string = await Promise.resolve(path.toUpperCase());
  const doubled: number = width * 2;
  return { path: upper, width: doubled };
});
worker.task(email, function (this: TaskContext, to, subject) {
  this.signal.throwIfAborted();
  console.log(to.length, subject.length);
});
worker.task(tick, () => 1, { backoff: { type: "fixed", delay: 100 } });
// Fewer parameters than declared: the handler ignores the rest.
worker.task(resize, (path) => ({ path, width: 0 }));

// @ts-expect-error the declared width is a number, not a string
worker.task(resize, (path: string, width: string) => ({ path, width: +width }));
// @ts-expect-error the handler wants a third argument nobody enqueues
worker.task(resize, (path: string, width: number, crop: boolean) => ({
  path,
  width: crop ? width : 0,
}));
// @ts-expect-error the result misses the declared width
worker.task(resize, (path) => ({ path }));
// @ts-expect-error an async handler must resolve to the declared result
worker.task(tick, async () => await Promise.resolve("one"));
// @ts-expect-error the declared result is a number
worker.task(tick, () => "one");
// @ts-expect-error timeout belongs to the declaration, not to the binding
worker.task(resize, (path, width) => ({ path, width }), { timeout: 1 });
// @ts-expect-error a task with a handler cannot be bound again
worker.task(plain, (n: number) => n);

// Running: only tasks with handlers.
new Worker(worker.backend, { tasks: [boundResize] });
// @ts-expect-error a declaration has no handler to run
new Worker(worker.backend, { tasks: [resize] });

// ---- bound tasks are declarations too; declarations do not mix ----------------

const asDeclaration: TaskDeclaration<[string, number], {
  path: string;
  width: number;
}> = boundResize;
// @ts-expect-error email takes other arguments than resize
const crossed: TaskDeclaration<[string, number], void> = email;
// @ts-expect-error tick's result is not email's
const crossedResult: TaskDeclaration<[], string> = tick;
console.log(asDeclaration, crossed, crossedResult);

// A declaration made without its types can be neither enqueued nor bound.
const untyped = declareTask("untyped");
producer.declare(untyped);
// @ts-expect-error no declared argument list: nothing fits
await producer.enqueue(untyped);
// @ts-expect-error no declared result: no handler fits
worker.task(untyped, () => 1);

await producer.close();
