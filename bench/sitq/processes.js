/**
 * sitq scenarios whose workers run in other processes of the same runtime
 * (sitq/worker_process.js): the cross-process claim and wake-up paths.
 *
 * @module
 */
import {
  spawnSameRuntime,
  terminate,
  waitForLine,
} from "../common/spawn_runtime.js";
import { nowMs } from "../common/stats.js";
import { sampleLatency } from "./workloads.js";

const WORKER_SCRIPT = new URL("./worker_process.js", import.meta.url);

/**
 * Runs `fn` while `count` worker processes work on the database at `path`.
 *
 * @template T
 * @param {{ path: string, sync: string }} db
 * @param {number} count
 * @param {number} concurrency per process
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function withWorkerProcesses(db, count, concurrency, fn) {
  const children = Array.from(
    { length: count },
    () =>
      spawnSameRuntime(WORKER_SCRIPT, [
        "--db",
        db.path,
        "--concurrency",
        `${concurrency}`,
        "--sync",
        db.sync,
      ]),
  );
  try {
    await Promise.all(children.map((c) => waitForLine(c, "ready", 30_000)));
    return await fn();
  } finally {
    await Promise.all(children.map(terminate));
  }
}

/**
 * Starts `processes` workers (each at `concurrency`), waits until all run,
 * enqueues `n` tasks in bulk, and times from then until `stats()` counts
 * them all completed.
 *
 * @param {{ queue: any, tasks: { noop: any } }} o
 * @param {{ path: string, sync: string }} db
 * @param {number} n
 * @param {number} processes
 * @param {number} concurrency
 */
export async function drainInProcesses(o, db, n, processes, concurrency) {
  // Migrate before the workers open the file, so they do not race to.
  await o.queue.backend.open();
  return await withWorkerProcesses(db, processes, concurrency, async () => {
    await o.queue.enqueueMany(
      o.tasks.noop,
      Array.from({ length: n }, (_, i) => [i]),
    );
    const start = nowMs();
    for (;;) {
      const stats = await o.queue.stats();
      if (stats.completed === n) break;
      if (stats.failed > 0) throw new Error(`tasks failed: ${stats.failed}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return {
      ops: n,
      seconds: (nowMs() - start) / 1000,
      note: `${processes} processes x concurrency ${concurrency}`,
    };
  });
}

/**
 * Pickup latency with the worker in another process (concurrency 1).
 *
 * @param {{ queue: any, tasks: { stamp: any } }} o
 * @param {{ path: string, sync: string }} db
 * @param {number} samples
 */
export async function latencyCrossProcess(o, db, samples) {
  await o.queue.backend.open();
  return await withWorkerProcesses(
    db,
    1,
    1,
    () => sampleLatency(o.queue, o.tasks, samples),
  );
}
