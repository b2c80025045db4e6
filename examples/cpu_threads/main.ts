/**
 * CPU-bound tasks in worker threads: two prime counts run at the same time
 * in two threads (their run times, measured inside the threads, overlap),
 * and a handler stuck in an endless loop is stopped at its timeout by
 * terminating its thread, then retried in a fresh one.
 *
 * Run: `bun examples/cpu_threads/main.ts` or
 * `deno run -A examples/cpu_threads/main.ts`.
 *
 * @module
 */
import { SQLiteBackend, TaskQueue, threadModule } from "../../mod.ts";

// The module's type types the handlers; only the threads import it.
const handlers = threadModule<typeof import("./handlers.ts")>(
  new URL("./handlers.ts", import.meta.url),
);

const queue = new TaskQueue(new SQLiteBackend(":memory:"));
const countPrimes = queue.task("primes", handlers.handler("countPrimes"));
const runaway = queue.task("runaway", handlers.handler("runaway"), {
  timeout: 1500, // counted from the claim, the thread's start-up included
  maxAttempts: 2,
  backoff: { type: "fixed", delay: 0 },
});

const worker = queue.worker({ concurrency: 2, threads: { size: 2 } });
await worker.start();

console.log("=== Two CPU-bound tasks at concurrency 2, in two threads ===");
const ids = await queue.enqueueMany(countPrimes, [[2_000_000], [2_000_000]]);
const runs = [];
for (const id of ids) {
  const result = await queue.waitForResult(id);
  if (result.status !== "completed") throw new Error(`task ${id} failed`);
  runs.push(result.value);
  console.log(`task ${id}: ${result.value.primes} primes below 2,000,000`);
}
const [a, b] = runs;
const overlapped = a!.start < b!.end && b!.start < a!.end;
console.log(`they ran at the same time: ${overlapped ? "yes" : "no"}`);

console.log("\n=== A handler stuck in an endless loop, timeout 1.5 s ===");
const stuck = await queue.enqueue(runaway);
const result = await queue.waitForResult(stuck);
const task = await queue.getTask(stuck);
for (const attempt of task.history) {
  console.log(
    `attempt ${attempt.attempt}: ${attempt.outcome}${
      attempt.error ? ` (${attempt.error.code})` : ""
    }`,
  );
}
console.log(
  `result: ${result.status}, ${
    result.status === "completed" ? result.value : ""
  }`,
);

await worker.stop(); // the threads end with the worker
await queue.close();
console.log("\n=== Example completed ===");
