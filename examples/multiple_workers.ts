/**
 * Several workers with different concurrency share one database file: each
 * task is claimed by exactly one of them. Then the same slow tasks run on one
 * worker and on three, to show the speed-up.
 *
 * Run: `bun examples/multiple_workers.ts`
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQLiteBackend, type TaskContext, TaskQueue, Worker } from "../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dir = mkdtempSync(join(tmpdir(), "sitq-multi-"));

/** A queue on a new file with tasks of three lengths. */
function setUp(file: string) {
  const backend = new SQLiteBackend(join(dir, file));
  const queue = new TaskQueue(backend);
  // `this.workerId` tells which worker runs the task.
  const work = (kind: string, ms: number) =>
    async function (this: TaskContext, n: number) {
      await sleep(ms); // simulated work
      console.log(`  ${kind} task ${n} done by worker ${this.workerId}`);
      return `${kind} result ${n}`;
    };
  const tasks = {
    quick: queue.task("quick", work("quick", 10)),
    medium: queue.task("medium", work("medium", 40)),
    slow: queue.task("slow", work("slow", 80)),
  };
  return { backend, queue, tasks };
}

/** Starts the workers, waits for every id to finish, stops them. */
async function runAll(
  queue: TaskQueue,
  workers: Worker[],
  ids: number[],
): Promise<number> {
  const started = performance.now();
  await Promise.all(workers.map((worker) => worker.start()));
  await Promise.all(
    ids.map((id) => queue.waitForResult(id, { timeout: 30_000 })),
  );
  const elapsed = performance.now() - started;
  await Promise.all(workers.map((worker) => worker.stop()));
  return elapsed;
}

console.log("=== Multiple workers on one file ===");
{
  const { backend, queue, tasks } = setUp("multi.db");
  // Three workers, as in the Python sitq guide: A and C run one task at a
  // time, B runs two.
  const workers = [
    new Worker(backend, {
      tasks: Object.values(tasks),
      concurrency: 1,
      workerId: "A",
    }),
    new Worker(backend, {
      tasks: Object.values(tasks),
      concurrency: 2,
      workerId: "B",
    }),
    new Worker(backend, {
      tasks: Object.values(tasks),
      concurrency: 1,
      workerId: "C",
    }),
  ];
  const ids = [
    ...await queue.enqueueMany(tasks.quick, [[0], [1], [2], [3]]),
    ...await queue.enqueueMany(tasks.medium, [[4], [5], [6], [7]]),
    ...await queue.enqueueMany(tasks.slow, [[8], [9], [10], [11]]),
  ];
  console.log(
    `Enqueued ${ids.length} tasks; starting workers A (1), B (2), C (1)`,
  );
  await runAll(queue, workers, ids);

  // Every finished task records the worker that ran it.
  const perWorker = new Map<string, number>();
  for (const id of ids) {
    const task = await queue.getTask(id);
    perWorker.set(task.workerId!, (perWorker.get(task.workerId!) ?? 0) + 1);
  }
  const stats = await queue.stats();
  console.log(`All ${stats.completed} of ${ids.length} tasks completed`);
  for (const worker of workers) {
    console.log(
      `  worker ${worker.id} (concurrency ${worker.concurrency}): ${
        perWorker.get(worker.id) ?? 0
      } tasks`,
    );
  }
  const total = [...perWorker.values()].reduce((a, b) => a + b, 0);
  console.log(`Per-worker counts add up to ${total}: no task ran twice`);
  await queue.close();
}

console.log("\n=== One worker vs three ===");
const timings: number[] = [];
for (const count of [1, 3]) {
  const { backend, queue, tasks } = setUp(`compare-${count}.db`);
  const ids = await queue.enqueueMany(tasks.slow, [[1], [2], [3], [4], [5], [
    6,
  ]]);
  const workers = Array.from(
    { length: count },
    (_, i) =>
      new Worker(backend, { tasks: [tasks.slow], workerId: `W${i + 1}` }),
  );
  const elapsed = await runAll(queue, workers, ids);
  timings.push(elapsed);
  console.log(
    `${count} worker(s): ${ids.length} slow tasks in ${elapsed.toFixed(0)} ms`,
  );
  await queue.close();
}
console.log(`Speed-up: ${(timings[0]! / timings[1]!).toFixed(1)}x`);

rmSync(dir, { recursive: true, force: true });
console.log("=== Example completed ===");
