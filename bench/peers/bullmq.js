/**
 * BullMQ against the redis-server the orchestrator started on loopback.
 * Redis's durability follows the bench's: `--sync full` runs it with
 * `appendfsync always`, `normal` with `appendfsync everysec`.
 *
 * @module
 */
import { completionCounter } from "./peer.js";

const BULLMQ = "bullmq";

/** @type {import("./peer.js").PeerAdapter} */
export const bullmq = {
  name: "bullmq",
  requirement: "BullMQ needs a Redis server",
  async open({ redisPort, sync }) {
    if (!redisPort) throw new Error("no redis-server was started");
    const { Queue, Worker } = await import(BULLMQ);
    const connection = { host: "127.0.0.1", port: redisPort };
    // A fresh queue name per session keeps sessions independent without
    // flushing the whole server.
    const name = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const queue = new Queue(name, { connection });
    const bulk = (/** @type {number} */ n) =>
      queue.addBulk(
        Array.from({ length: n }, (_, i) => ({ name: "noop", data: { i } })),
      );
    return {
      durability: `redis AOF, appendfsync ${
        sync === "full" ? "always" : "everysec"
      }`,
      enqueueOne: (i) => queue.add("noop", { i }),
      enqueueBulk: bulk,
      prefill: bulk,
      async drain(n, concurrency, maxMs) {
        const counter = completionCounter(n, maxMs);
        const worker = new Worker(name, async () => {}, {
          // Workers block on Redis; BullMQ requires unlimited retries here.
          connection: { ...connection, maxRetriesPerRequest: null },
          concurrency,
        });
        worker.on("completed", counter.count);
        /** @type {Promise<void>} */
        const failed = new Promise((_, reject) => {
          worker.on(
            "failed",
            (/** @type {unknown} */ _job, /** @type {Error} */ error) =>
              reject(error),
          );
          worker.on("error", reject);
        });
        await Promise.race([counter.done, failed]);
        await worker.close();
        return counter.completed();
      },
      async close() {
        await queue.obliterate({ force: true });
        await queue.close();
      },
    };
  },
};
