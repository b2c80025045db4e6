/**
 * Specialised workers on one database: a high-concurrency worker for I/O
 * tasks and a low-concurrency one for CPU tasks. A worker claims only the
 * task names it has handlers for, so neither takes the other's work, and a
 * task no worker handles waits in the queue.
 *
 * Run: `bun examples/specialised_workers.ts`
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQLiteBackend, type TaskContext, TaskQueue, Worker } from "../mod.ts";

const dir = mkdtempSync(join(tmpdir(), "sitq-specialised-"));
const backend = new SQLiteBackend(join(dir, "tasks.db"));
const queue = new TaskQueue(backend);

// I/O-bound: mostly waiting, so many can wait at once.
const fetchPage = queue.task(
  "fetchPage",
  async function (this: TaskContext, url: string) {
    await new Promise((resolve) => setTimeout(resolve, 50)); // the "network"
    console.log(`  [${this.workerId}] fetched ${url}`);
    return { url, bytes: url.length * 100 };
  },
);

// CPU-bound: keeps the thread busy. In one process the CPU worker shares the
// thread with the others; give it its own process (see worker_processes.ts)
// to use another core.
const checksum = queue.task(
  "checksum",
  function (this: TaskContext, seed: string, rounds: number) {
    let digest = seed;
    for (let i = 0; i < rounds; i++) {
      digest = createHash("sha256").update(digest).digest("hex");
    }
    console.log(
      `  [${this.workerId}] checksum of ${seed}: ${digest.slice(0, 12)}`,
    );
    return digest;
  },
);

// Nobody runs this one in this script.
const report = queue.task("report", () => "weekly report");

const io = new Worker(backend, {
  tasks: [fetchPage],
  concurrency: 8,
  pollInterval: 500,
  workerId: "io-worker",
});
const cpu = new Worker(backend, {
  tasks: [checksum],
  concurrency: 1,
  pollInterval: 1000,
  workerId: "cpu-worker",
});

const pages = await queue.enqueueMany(
  fetchPage,
  Array.from({ length: 8 }, (_, i) => [`https://example.com/page/${i + 1}`]),
);
const sums = await queue.enqueueMany(
  checksum,
  ["alpha", "beta", "gamma", "delta"].map((seed) => [seed, 20_000]),
);
const reportId = await queue.enqueue(report);
console.log(
  `Enqueued ${pages.length} fetchPage, ${sums.length} checksum and 1 report task`,
);
console.log(
  "Starting io-worker (concurrency 8) and cpu-worker (concurrency 1)",
);
await Promise.all([io.start(), cpu.start()]);

await Promise.all(
  [...pages, ...sums].map((id) => queue.waitForResult(id, { timeout: 30_000 })),
);
await Promise.all([io.onIdle(), cpu.onIdle()]);
await Promise.all([io.stop(), cpu.stop()]);

// Check who ran what, from what the database recorded.
const ranBy = async (ids: number[]) =>
  new Set(
    await Promise.all(
      ids.map(async (id) => (await queue.getTask(id)).workerId),
    ),
  );
const pageWorkers = [...await ranBy(pages)];
const sumWorkers = [...await ranBy(sums)];
console.log("Summary:");
console.log(
  `  fetchPage: ${pages.length} tasks, run by ${pageWorkers.join(", ")}`,
);
console.log(
  `  checksum: ${sums.length} tasks, run by ${sumWorkers.join(", ")}`,
);
const misplaced = pageWorkers.some((id) => id !== io.id) ||
  sumWorkers.some((id) => id !== cpu.id);
console.log(
  misplaced
    ? "  some task ran on the wrong worker!"
    : "  every task ran on the worker specialised for it",
);
const pending = await queue.getResult(reportId);
console.log(`  report: still ${pending.status}, since no worker handles it`);
console.log(`Final stats: ${JSON.stringify(await queue.stats())}`);

await queue.close();
rmSync(dir, { recursive: true, force: true });
