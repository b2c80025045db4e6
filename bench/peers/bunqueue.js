/**
 * bunqueue in embedded mode: the queue lives in this process and persists
 * to one SQLite file. Bun only.
 *
 * @module
 */
import { join } from "node:path";
import { completionCounter } from "./peer.js";

const BUNQUEUE_CLIENT = "bunqueue/client";

/** @type {import("./peer.js").PeerAdapter} */
export const bunqueue = {
  name: "bunqueue",
  requirement: "bunqueue requires Bun",
  async open({ dir }) {
    const { Queue, Worker, shutdownManager } = await import(BUNQUEUE_CLIENT);
    const dataPath = join(dir, "bunqueue.db");
    const queue = new Queue("bench", { embedded: true, dataPath });
    // durable: true writes each add through to SQLite instead of bunqueue's
    // write buffer, which could lose acknowledged jobs on a crash.
    const opts = { durable: true };
    const bulk = (/** @type {number} */ n) =>
      queue.addBulk(
        Array.from({ length: n }, (_, i) => ({
          name: "noop",
          data: { i },
          opts,
        })),
      );
    return {
      durability:
        "embedded, durable:true adds; bunqueue fixes WAL + synchronous=NORMAL",
      enqueueOne: (i) => queue.add("noop", { i }, opts),
      enqueueBulk: bulk,
      prefill: bulk,
      async drain(n, concurrency, maxMs) {
        const counter = completionCounter(n, maxMs);
        const worker = new Worker("bench", async () => {}, {
          embedded: true,
          dataPath,
          concurrency,
        });
        worker.on("completed", counter.count);
        /** @type {Promise<void>} */
        const failed = new Promise((_, reject) => worker.on("failed", reject));
        await Promise.race([counter.done, failed]);
        await worker.close();
        return counter.completed();
      },
      close() {
        queue.close();
        shutdownManager();
      },
    };
  },
};
