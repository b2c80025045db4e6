/**
 * graphile-worker on the bench's PostgreSQL server, in a database of its
 * own: `makeWorkerUtils` to add jobs (`addJob`, `addJobs` in bulk), `run()`
 * with `concurrency` and a task list to drain them, counting its
 * `job:complete` events (emitted once the result is written back).
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { requireNodeEngine } from "./engines.js";
import { completionCounter } from "./peer.js";

const GRAPHILE_WORKER = "graphile-worker";
const TASK = "noop";

/** @type {import("./peer.js").PeerAdapter} */
export const graphileWorker = {
  name: "graphile-worker",
  requirement: "graphile-worker 0.18 runs on Bun, Deno and Node >= 22.18",
  async open({ pgUrl }) {
    if (!pgUrl) throw new Error("no PostgreSQL server was started");
    requireNodeEngine(GRAPHILE_WORKER);
    const gw = await import(GRAPHILE_WORKER);
    const logger = new gw.Logger(() => () => {});
    const utils = await gw.makeWorkerUtils({ connectionString: pgUrl, logger });
    await utils.migrate();
    const bulk = (/** @type {number} */ n) =>
      utils.addJobs(
        Array.from({ length: n }, (_, i) => ({
          identifier: TASK,
          payload: { i },
        })),
      );
    return {
      durability: "server defaults (sets no synchronous_commit)",
      enqueueOne: (i) => utils.addJob(TASK, { i }),
      enqueueBulk: bulk,
      prefill: bulk,
      async drain(n, concurrency, maxMs) {
        const counter = completionCounter(n, maxMs);
        const events = new EventEmitter();
        /** @type {unknown} */
        let failure;
        events.on("job:complete", (/** @type {{ error: unknown }} */ e) => {
          if (e.error) failure ??= e.error;
          counter.count();
        });
        const runner = await gw.run({
          connectionString: pgUrl,
          concurrency,
          noHandleSignals: true,
          logger,
          events,
          taskList: { [TASK]: async () => {} },
        });
        await counter.done;
        await runner.stop();
        if (failure) throw failure;
        return counter.completed();
      },
      close: () => utils.release(),
    };
  },
};
