/**
 * pg-boss on the bench's PostgreSQL server, in a database of its own.
 *
 * Its worker (`work()`) fetches, runs the handler on the batch it fetched,
 * completes the batch, and then waits out `pollingIntervalSeconds` (at
 * least 0.5 s) unless a burst setting applies; `burstWhenBatchFull` (its
 * documented way to drain a backlog continuously) needs a batch of more
 * than one. So concurrency N > 1 is one `work()` with `batchSize` N and
 * `burstWhenBatchFull`, its N jobs run at once, and concurrency 1, which
 * `work()` cannot do without the poll wait, is its pull API: `fetch` one,
 * run it, `complete` it, in a loop.
 *
 * @module
 */
import { requireNodeEngine } from "./engines.js";
import { completionCounter } from "./peer.js";

const PG_BOSS = "pg-boss";
const QUEUE = "bench";

/** @type {import("./peer.js").PeerAdapter} */
export const pgBoss = {
  name: "pg-boss",
  requirement: "pg-boss 12 runs on Bun, Deno and Node >= 22.12",
  async open({ pgUrl }) {
    if (!pgUrl) throw new Error("no PostgreSQL server was started");
    requireNodeEngine(PG_BOSS);
    const module = await import(PG_BOSS);
    const PgBoss = module.PgBoss ?? module.default;
    const boss = new PgBoss({ connectionString: pgUrl, schedule: false });
    /** @type {unknown} */
    let failure;
    // An EventEmitter without an "error" listener would throw.
    boss.on("error", (/** @type {unknown} */ error) => (failure ??= error));
    await boss.start();
    await boss.createQueue(QUEUE);
    const bulk = (/** @type {number} */ n) =>
      boss.insert(
        QUEUE,
        Array.from({ length: n }, (_, i) => ({ data: { i } })),
      );
    return {
      durability: "server defaults (sets no synchronous_commit)",
      enqueueOne: (i) => boss.send(QUEUE, { i }),
      enqueueBulk: bulk,
      prefill: bulk,
      async drain(n, concurrency, maxMs) {
        const counter = completionCounter(n, maxMs);
        if (concurrency === 1) {
          await pullLoop(boss, counter);
        } else {
          await boss.work(QUEUE, {
            batchSize: concurrency,
            burstWhenBatchFull: true,
            pollingIntervalSeconds: 0.5,
          }, async (/** @type {unknown[]} */ jobs) => {
            await Promise.all(jobs.map(() => noop()));
            // pg-boss completes the batch after the handler returns; count
            // them then (one statement, so a few ms early at most).
            queueMicrotask(() => jobs.forEach(counter.count));
          });
          await counter.done;
          await boss.offWork(QUEUE, { wait: true });
        }
        if (failure) throw failure;
        return await completedCount(boss);
      },
      close: () => boss.stop({ graceful: false, timeout: 1000 }),
    };
  },
};

/** The handler: nothing, so the queue's own cost is what is measured. */
function noop() {
  return Promise.resolve();
}

/**
 * Concurrency 1: fetch one job, run it, complete it, until the counter is
 * done or the queue is empty.
 *
 * @param {any} boss
 * @param {ReturnType<typeof completionCounter>} counter
 */
async function pullLoop(boss, counter) {
  let over = false;
  void counter.done.then(() => (over = true));
  while (!over) {
    const [job] = await boss.fetch(QUEUE, { batchSize: 1 });
    if (!job) break;
    await noop();
    await boss.complete(QUEUE, job.id);
    counter.count();
  }
}

/**
 * The number of jobs the database says are completed: the handler's count
 * runs a statement ahead of the completions it counts.
 *
 * @param {any} boss
 */
async function completedCount(boss) {
  const { rows } = await boss.getDb().executeSql(
    "SELECT count(*)::int AS c FROM pgboss.job WHERE name = $1 AND state = 'completed'",
    [QUEUE],
  );
  return rows[0].c;
}
