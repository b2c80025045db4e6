/**
 * liteque: a SQLite queue on better-sqlite3 and drizzle, Node only. It has
 * no bulk enqueue, and its Runner takes a concurrency.
 *
 * @module
 */
import { join } from "node:path";
import { completionCounter } from "./peer.js";

const LITEQUE = "liteque";

/** @type {import("./peer.js").PeerAdapter} */
export const liteque = {
  name: "liteque",
  requirement: "liteque runs only on better-sqlite3",
  async open({ dir, sync }) {
    const { buildDBClient, Runner, SqliteQueue } = await import(LITEQUE);
    const db = buildDBClient(join(dir, "liteque.db"), { runMigrations: true });
    // buildDBClient sets synchronous = NORMAL and exposes no option for it;
    // drizzle 0.33 keeps the better-sqlite3 handle as session.client.
    const sqlite = db.session.client;
    const setSync = (/** @type {string} */ level) =>
      sqlite.pragma(`synchronous = ${level}`);
    setSync(sync);
    const queue = new SqliteQueue("bench", db, {
      defaultJobArgs: { numRetries: 0 },
      keepFailedJobs: false,
    });
    return {
      durability: `WAL, synchronous=${sync} (set on its connection)`,
      enqueueOne: (i) => queue.enqueue({ i }),
      enqueueBulk: undefined,
      async prefill(n) {
        // No bulk API: add one by one, without fsyncs, since this is set-up.
        setSync("off");
        for (let i = 0; i < n; i++) await queue.enqueue({ i });
        setSync(sync);
      },
      async drain(n, concurrency, maxMs) {
        const counter = completionCounter(n, maxMs);
        const runner = new Runner(queue, {
          run: async () => {},
          onComplete: () => Promise.resolve(counter.count()),
        }, { concurrency, pollIntervalMs: 10, timeoutSecs: 60 });
        // Stop at the time box (a no-op once the queue is empty). Chained
        // on the promise, not awaited after a race, because the runner's
        // loop would otherwise keep claiming before this code resumed.
        void counter.done.then(() => runner.stop());
        await runner.runUntilEmpty();
        return counter.completed();
      },
      close: () => sqlite.close(),
    };
  },
};
