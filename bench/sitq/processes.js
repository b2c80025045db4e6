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
import { storeArgs } from "./load_sitq.js";
import { sampleLatency } from "./workloads.js";

const WORKER_SCRIPT = new URL("./worker_process.js", import.meta.url);

/**
 * Runs `fn` while `count` worker processes work on the queue in `store`.
 *
 * @template T
 * @param {import("./load_sitq.js").Store} store
 * @param {number} count
 * @param {number} concurrency per process
 * @param {(children: ReturnType<typeof spawnSameRuntime>[]) => Promise<T>} fn
 *   gets the children, whose stdout it may read
 * @returns {Promise<T>}
 */
async function withWorkerProcesses(store, count, concurrency, fn) {
  const children = Array.from(
    { length: count },
    () =>
      spawnSameRuntime(WORKER_SCRIPT, [
        ...storeArgs(store),
        "--concurrency",
        `${concurrency}`,
      ]),
  );
  try {
    await Promise.all(children.map((c) => waitForLine(c, "ready", 30_000)));
    return await fn(children);
  } finally {
    await Promise.all(children.map(terminate));
  }
}

/**
 * Starts `processes` workers (each at `concurrency`), waits until all run,
 * enqueues `n` tasks in bulk, and times from then until the workers'
 * completed counts (each prints its own, see worker_process.js) add up to
 * `n`; `stats()` then confirms that every task is completed.
 *
 * @param {{ queue: any, tasks: { noop: any } }} o
 * @param {import("./load_sitq.js").Store} store
 * @param {number} n
 * @param {number} processes
 * @param {number} concurrency
 */
export async function drainInProcesses(o, store, n, processes, concurrency) {
  // Migrate before the workers open the store, so they do not race to.
  await o.queue.backend.open();
  return await withWorkerProcesses(
    store,
    processes,
    concurrency,
    async (children) => {
      const counts = children.map(() => 0);
      /** @type {() => void} */
      let allDone = () => {};
      const done = new Promise((resolve) => {
        allDone = () => resolve(undefined);
      });
      children.forEach((child, index) => {
        let buffer = "";
        child.stdout.on("data", (/** @type {string} */ chunk) => {
          buffer += chunk;
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          for (const line of lines) {
            const match = /^completed (\d+)$/.exec(line);
            if (match) counts[index] = Number(match[1]);
          }
          if (counts.reduce((a, b) => a + b, 0) >= n) allDone();
        });
      });
      await o.queue.enqueueMany(
        o.tasks.noop,
        Array.from({ length: n }, (_, i) => [i]),
      );
      const start = nowMs();
      // Every task must be in the store once enqueueMany has returned: fail
      // now, with the counts, rather than wait for the child timeout.
      const enqueued = await o.queue.stats();
      const total = Object.values(enqueued).reduce((a, b) => a + b, 0);
      if (total !== n) {
        throw new Error(
          `enqueueMany(${n}) returned, but stats() says ${
            JSON.stringify(enqueued)
          }`,
        );
      }
      // A failed task would keep the counts short for good: look once a
      // second, which costs the workers nothing that matters.
      let failed = 0;
      const watch = setInterval(() => {
        o.queue.stats().then((/** @type {any} */ stats) => {
          failed = stats.failed;
          if (failed > 0) allDone();
        }, () => {
          // The confirming stats() below reports a store that fails.
        });
      }, 1000);
      try {
        await done;
      } finally {
        clearInterval(watch);
      }
      const seconds = (nowMs() - start) / 1000;
      if (failed > 0) throw new Error(`tasks failed: ${failed}`);
      // A count may be printed just before its commit is visible here.
      for (;;) {
        const stats = await o.queue.stats();
        if (stats.completed === n) break;
        if (stats.failed > 0) throw new Error(`tasks failed: ${stats.failed}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return {
        ops: n,
        seconds,
        note: `${processes} processes x concurrency ${concurrency}`,
      };
    },
  );
}

/**
 * Pickup latency with the worker in another process (concurrency 1).
 *
 * @param {{ queue: any, tasks: { stamp: any } }} o
 * @param {import("./load_sitq.js").Store} store
 * @param {number} samples
 */
export async function latencyCrossProcess(o, store, samples) {
  await o.queue.backend.open();
  return await withWorkerProcesses(
    store,
    1,
    1,
    () => sampleLatency(o.queue, o.tasks, samples),
  );
}
