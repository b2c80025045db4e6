/**
 * The whole job in one script: define tasks, enqueue a few (one delayed, one
 * that fails twice before it succeeds, one that fails for good), run a
 * worker, print every result and the final stats.
 *
 * Run: `bun examples/basic.ts` (or `npm run example`, or
 * `deno run -A examples/basic.ts`).
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PermanentError,
  SQLiteBackend,
  type TaskContext,
  TaskQueue,
  Worker,
} from "../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A fresh database file in a temp dir, removed at the end.
const dir = mkdtempSync(join(tmpdir(), "sitq-basic-"));
const backend = new SQLiteBackend(join(dir, "tasks.db"));
const queue = new TaskQueue(backend);

// Step 1: define tasks. The name is the task's identity in the database.
const add = queue.task("add", (a: number, b: number) => a + b);

const greet = queue.task("greet", async (name: string) => {
  await sleep(20); // pretend to do some I/O
  return `Hello, ${name}!`;
});

// `this` is the task's context: which attempt this is, an abort signal...
const fetchPage = queue.task(
  "fetchPage",
  function (this: TaskContext, url: string) {
    if (this.attempt < 3) {
      throw new Error(`${url} is not reachable yet (attempt ${this.attempt})`);
    }
    return `fetched ${url} on attempt ${this.attempt}`;
  },
  { maxAttempts: 3, backoff: { type: "fixed", delay: 50 } },
);

const divide = queue.task("divide", (a: number, b: number) => {
  // A PermanentError says "retrying cannot help": the task fails at once.
  if (b === 0) throw new PermanentError("cannot divide by zero");
  return a / b;
});

const remind = queue.task("remind", (text: string, enqueuedAt: Date) => {
  return `${text} (ran ${Date.now() - enqueuedAt.getTime()} ms after enqueue)`;
});

// Step 2: enqueue. Arguments are type-checked against the handler.
console.log("Enqueuing tasks...");
const ids = [
  await queue.enqueue(add, 2, 3),
  await queue.enqueue(greet, "Ada"),
  await queue.enqueue(greet, "Grace"),
  await queue.enqueue(fetchPage, "https://example.com"),
  await queue.enqueue(divide, 1, 0),
  await queue.enqueue(remind.with({ delay: 200 }), "stretch", new Date()),
];
console.log(
  `Enqueued ${ids.length} tasks: ${JSON.stringify(await queue.stats())}`,
);

// Step 3: run a worker, printing one line per event.
const worker = new Worker(backend, {
  tasks: [add, greet, fetchPage, divide, remind],
  concurrency: 4,
  pollInterval: 100,
});
worker.on("completed", ({ id, name, attempt }) => {
  console.log(`  task ${id} (${name}) completed on attempt ${attempt}`);
});
worker.on("retrying", ({ id, name, attempt, error }) => {
  console.log(
    `  task ${id} (${name}) failed attempt ${attempt}: ${error.message}; retrying`,
  );
});
worker.on("failed", ({ id, name, error }) => {
  console.log(`  task ${id} (${name}) failed for good: ${error.message}`);
});
console.log("Starting worker (concurrency 4); events as they happen:");
await worker.start();

// Step 4: wait until every task is final, then print the results in order.
const results = await Promise.all(
  ids.map((id) => queue.waitForResult(id, { timeout: 10_000 })),
);
console.log("Results:");
for (const [index, result] of results.entries()) {
  const outcome = result.status === "completed"
    ? JSON.stringify(result.value)
    : result.status === "failed"
    ? `${result.error.name}: ${result.error.message}`
    : "";
  console.log(
    `  task ${
      ids[index]
    }: ${result.status} after ${result.attempts} attempt(s): ${outcome}`,
  );
}

// Step 5: stop gracefully, report, clean up.
await worker.stop();
const stats = await queue.stats();
console.log(
  `Final stats: ${stats.completed} completed, ${stats.failed} failed, ${stats.queued} queued, ${stats.running} running, ${stats.cancelled} cancelled`,
);
await queue.close();
rmSync(dir, { recursive: true, force: true });
