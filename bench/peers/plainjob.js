/**
 * plainjob: a SQLite queue for bun:sqlite and better-sqlite3. Its worker
 * runs one job at a time, so concurrency N means N workers in one process,
 * which is how its README scales within a process.
 *
 * @module
 */
import { join } from "node:path";
import { importAsProject } from "../common/project_import.js";
import { runtimeName } from "../common/runtime.js";
import { completionCounter, SILENT_LOGGER } from "./peer.js";

const PLAINJOB = "plainjob";
const BUN_SQLITE = "bun:sqlite";
const BETTER_SQLITE3 = "better-sqlite3";

/** @type {import("./peer.js").PeerAdapter} */
export const plainjob = {
  name: "plainjob",
  requirement: "plainjob supports only bun:sqlite and better-sqlite3",
  async open({ dir, sync }) {
    const pj = await import(PLAINJOB);
    const path = join(dir, "plainjob.db");
    const connection = runtimeName() === "bun"
      ? pj.bun(new (await import(BUN_SQLITE)).Database(path, { strict: true }))
      // sitq's better-sqlite3, not the older copy bench pins for liteque.
      : pj.better(new (await importAsProject(BETTER_SQLITE3)).default(path));
    const queue = pj.defineQueue({ connection, logger: SILENT_LOGGER });
    // defineQueue sets synchronous = NORMAL; compare at the bench's level.
    connection.pragma(`synchronous = ${sync.toUpperCase()}`);
    const payloads = (/** @type {number} */ n) =>
      Array.from({ length: n }, (_, i) => ({ i }));
    return {
      durability: `WAL, synchronous=${sync} (set after defineQueue)`,
      enqueueOne: (i) => queue.add("noop", { i }),
      enqueueBulk: (n) => queue.addMany("noop", payloads(n)),
      prefill: (n) => queue.addMany("noop", payloads(n)),
      async drain(n, concurrency, maxMs) {
        const counter = completionCounter(n, maxMs);
        const workers = Array.from(
          { length: concurrency },
          () =>
            pj.defineWorker("noop", () => {}, {
              queue,
              logger: SILENT_LOGGER,
              pollIntervall: 10,
              onCompleted: counter.count,
            }),
        );
        /** @type {Promise<void>} */
        const failed = new Promise((_, reject) => {
          for (const worker of workers) worker.start().catch(reject);
        });
        await Promise.race([counter.done, failed]);
        await Promise.all(workers.map((worker) => worker.stop()));
        return counter.completed();
      },
      close: () => queue.close(),
    };
  },
};
