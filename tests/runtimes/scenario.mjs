/**
 * One end-to-end scenario of sitq's public API, written once in plain
 * JavaScript (JSDoc for types) so every runtime runs the very same code: Bun
 * and Deno on the `.ts` sources, Node 20 on the built package that its
 * package.json `exports` map resolves. It prints ONE JSON line of facts that
 * the runtime suites compare.
 *
 * Usage: `<runtime> scenario.mjs <phase> <db path> [module specifier]`
 * - phase `full`: the whole scenario on one file;
 * - phases `enqueue`, `work`, `read`: the cross-runtime relay, one per process;
 * - phase `noclose`: one task, then exit without closing the queue;
 * - the specifier defaults to the repository's `mod.ts` (the node suite
 *   passes `sitq` from a consumer directory).
 *
 * @module
 */

/** @typedef {typeof import("../../mod.ts")} Sitq */
/** @typedef {import("../../mod.ts").TaskQueue} TaskQueue */
/** @typedef {import("../../mod.ts").TaskContext} TaskContext */

const [phase, dbPath, specifier] = process.argv.slice(2);
const entry = specifier ?? new URL("../../mod.ts", import.meta.url).href;

/** How many tasks the worker runs at once, and what the gates wait for. */
const CONCURRENCY = 4;
/** Hang guard for every wait: generous, never the thing under test. */
const WAIT = { timeout: 30_000 };

/** @returns {{ name: string, version: string }} the runtime running this file */
function runtime() {
  const g = /** @type {any} */ (globalThis);
  if (g.Bun) return { name: "bun", version: g.Bun.version };
  if (g.Deno) return { name: "deno", version: g.Deno.version.deno };
  return { name: "node", version: process.versions.node };
}

/**
 * Registers the scenario's tasks. Every phase registers all of them, so a
 * process can run what another enqueued: names are the durable identity.
 *
 * @param {TaskQueue} queue
 */
function defineTasks(queue) {
  const probe = {
    gatesInFlight: 0,
    peakGates: 0,
    flakyCalls: 0,
    timeoutReason: /** @type {string | undefined} */ (undefined),
    cancelledRan: false,
    latchReason: /** @type {string | undefined} */ (undefined),
    latchStarted: () => {},
  };
  /** @type {() => void} */
  let openGates = () => {};
  const gatesOpen = new Promise((resolve) => (openGates = () => resolve()));

  const tasks = {
    // Dates and Maps must survive as arguments and as the result.
    describe: queue.task(
      "describe",
      /**
       * @this {TaskContext}
       * @param {Date} when
       * @param {Map<string, number>} tags
       */
      function (when, tags) {
        return { when, tags, attempt: this.attempt, name: this.name };
      },
    ),
    square: queue.task("square", /** @param {number} n */ (n) => n * n),
    // Each gate waits until CONCURRENCY gates run at once, which proves the
    // worker really runs that many in parallel (the timeout is a hang guard).
    gate: queue.task(
      "gate",
      /** @param {number} n */
      async (n) => {
        probe.gatesInFlight++;
        probe.peakGates = Math.max(probe.peakGates, probe.gatesInFlight);
        if (probe.gatesInFlight >= CONCURRENCY) openGates();
        await gatesOpen;
        probe.gatesInFlight--;
        return n;
      },
      { timeout: 15_000, maxAttempts: 1 },
    ),
    flaky: queue.task("flaky", () => {
      probe.flakyCalls++;
      throw new Error("boom");
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 1 } }),
    // Waits for its signal; the attempt's timeout is what ends it.
    sleepy: queue.task(
      "sleepy",
      /** @this {TaskContext} */
      function () {
        return new Promise((_, reject) => {
          this.signal.addEventListener("abort", () => {
            probe.timeoutReason = this.signal.reason?.name;
            reject(this.signal.reason);
          });
        });
      },
      { timeout: 50, maxAttempts: 1 },
    ),
    never: queue.task("never", () => {
      probe.cancelledRan = true;
    }),
    // Runs until the worker's shutdown aborts it.
    latch: queue.task(
      "latch",
      /** @this {TaskContext} */
      function () {
        probe.latchStarted();
        return new Promise((_, reject) => {
          this.signal.addEventListener("abort", () => {
            probe.latchReason = this.signal.reason?.name;
            reject(this.signal.reason);
          });
        });
      },
    ),
  };
  return { tasks, probe };
}

/**
 * @param {import("../../mod.ts").TaskResult} result
 * @returns {object} the parts of a describe() result worth comparing
 */
function describeFacts(result) {
  if (result.status !== "completed") return { status: result.status };
  const value = /** @type {any} */ (result.value);
  return {
    status: result.status,
    attempts: result.attempts,
    whenIsDate: value.when instanceof Date,
    when: value.when instanceof Date ? value.when.toISOString() : null,
    tagsIsMap: value.tags instanceof Map,
    tags: value.tags instanceof Map ? [...value.tags] : null,
    contextAttempt: value.attempt,
    contextName: value.name,
  };
}

const WHEN = new Date(Date.UTC(2024, 1, 29, 12, 30));
const TAGS = new Map([["red", 1], ["blue", 2]]);

/**
 * The whole scenario on one file.
 *
 * @param {Sitq} sitq
 */
async function full(sitq) {
  const { SQLiteBackend, TaskQueue, Worker } = sitq;
  const backend = new SQLiteBackend(dbPath);
  const queue = new TaskQueue(backend);
  const { tasks, probe } = defineTasks(queue);

  const describeId = await queue.enqueue(tasks.describe, WHEN, TAGS);
  const squareIds = await queue.enqueueMany(
    tasks.square,
    Array.from({ length: 10 }, (_, i) => [i + 1]),
  );
  const gateIds = await queue.enqueueMany(
    tasks.gate,
    Array.from({ length: 2 * CONCURRENCY }, (_, i) => [i]),
  );
  const flakyId = await queue.enqueue(tasks.flaky);
  const sleepyId = await queue.enqueue(tasks.sleepy);
  const neverId = await queue.enqueue(tasks.never.with({ delay: 60_000 }));
  await queue.cancel(neverId);

  const worker = new Worker(backend, {
    tasks: Object.values(tasks),
    concurrency: CONCURRENCY,
    pollInterval: 50,
  });
  const events = { completed: 0, failed: 0, retrying: 0 };
  for (
    const name of /** @type {const} */ (["completed", "failed", "retrying"])
  ) {
    worker.on(name, () => events[name]++);
  }
  await worker.start();

  const all = [
    describeId,
    ...squareIds,
    ...gateIds,
    flakyId,
    sleepyId,
    neverId,
  ];
  const finals = await Promise.all(
    all.map((id) => queue.waitForResult(id, WAIT)),
  );
  /** @type {(id: number) => import("../../mod.ts").FinalTaskResult} */
  const final = (id) => finals[all.indexOf(id)];
  /** @type {(id: number) => unknown} */
  const valueOf = (id) => {
    const result = final(id);
    return result.status === "completed" ? result.value : result.status;
  };
  await worker.onIdle();
  const flaky = await queue.getResult(flakyId);
  const flakyRecord = await queue.getTask(flakyId);
  const sleepy = await queue.getResult(sleepyId);
  const stats = await queue.stats();
  const workerStats = worker.stats();

  // A second backend object on the same file stands in for another process.
  const other = new SQLiteBackend(dbPath);
  const otherQueue = new TaskQueue(other);
  const otherDescribe = await otherQueue.getResult(describeId);
  const otherStats = await otherQueue.stats();
  await otherQueue.close();

  // Graceful stop past its deadline: the running task is aborted and given
  // back to the queue at once, its attempt not counted.
  const latchRunning = new Promise((resolve) => {
    probe.latchStarted = () => resolve(undefined);
  });
  const latchId = await queue.enqueue(tasks.latch);
  await latchRunning;
  await worker.stop({ timeout: 0 });
  const latch = await queue.getTask(latchId);
  const driver = backend.driverName;
  await queue.close();

  // Each driver words a missing directory its own way; all must map it.
  const missing = new SQLiteBackend("/nonexistent-sitq-dir/sub/tasks.db");
  const missingDir = await missing.open().then(
    () => "opened",
    (error) => `${error.name} ${error.code}`,
  );
  await missing.close();

  return {
    driver,
    describe: describeFacts(final(describeId)),
    squares: squareIds.map(valueOf),
    gates: { values: gateIds.map(valueOf), peak: probe.peakGates },
    flaky: {
      status: flaky.status,
      attempts: flaky.attempts,
      error: flaky.status === "failed" ? flaky.error.message : null,
      calls: probe.flakyCalls,
      history: flakyRecord.history.map((attempt) => attempt.outcome),
    },
    timeout: {
      status: sleepy.status,
      error: sleepy.status === "failed" ? sleepy.error.name : null,
      signalReason: probe.timeoutReason,
    },
    cancelled: {
      status: final(neverId).status,
      ran: probe.cancelledRan,
    },
    missingDir,
    shutdown: {
      status: latch.status,
      attempts: latch.attempts,
      signalReason: probe.latchReason,
      history: latch.history.map((attempt) => attempt.outcome),
      runningAfterStop: worker.running,
    },
    events,
    worker: {
      completed: workerStats.completed,
      failed: workerStats.failed,
      retried: workerStats.retried,
    },
    stats,
    otherBackend: {
      describe: describeFacts(otherDescribe),
      sameStats: JSON.stringify(otherStats) === JSON.stringify(stats),
    },
  };
}

/**
 * Relay step 1: enqueue the describe task and some squares.
 *
 * @param {Sitq} sitq
 */
async function enqueue(sitq) {
  const backend = new sitq.SQLiteBackend(dbPath);
  const queue = new sitq.TaskQueue(backend);
  const { tasks } = defineTasks(queue);
  const ids = [
    await queue.enqueue(tasks.describe, WHEN, TAGS),
    ...await queue.enqueueMany(tasks.square, [[2], [3], [4]]),
  ];
  const driver = backend.driverName;
  await queue.close();
  return { driver, ids };
}

/**
 * Relay step 2: run everything another process enqueued.
 *
 * @param {Sitq} sitq
 */
async function work(sitq) {
  const backend = new sitq.SQLiteBackend(dbPath);
  const queue = new sitq.TaskQueue(backend);
  defineTasks(queue);
  const worker = queue.worker({ concurrency: CONCURRENCY, pollInterval: 50 });
  await worker.start();
  const { tasks } = await queue.listTasks({ status: "queued" });
  await Promise.all(tasks.map((task) => queue.waitForResult(task.id, WAIT)));
  await worker.stop();
  const driver = backend.driverName;
  await queue.close();
  return { driver, ran: worker.stats().completed };
}

/**
 * Relay step 3: read what two other processes wrote.
 *
 * @param {Sitq} sitq
 */
async function read(sitq) {
  const backend = new sitq.SQLiteBackend(dbPath);
  const queue = new sitq.TaskQueue(backend);
  const { tasks } = await queue.listTasks();
  const [describe, ...squares] = tasks.sort((a, b) => a.id - b.id);
  const facts = {
    describe: describe && describeFacts(describe.result),
    squares: squares.map((task) =>
      task.result.status === "completed" ? task.result.value : task.status
    ),
    stats: await queue.stats(),
  };
  const driver = backend.driverName;
  await queue.close();
  return { driver, ...facts };
}

/**
 * Runs one task and stops the worker but never closes the queue, as a short
 * script might: the process must still exit by itself (no timer, watch or
 * handle of sitq's may keep it alive).
 *
 * @param {Sitq} sitq
 */
async function noclose(sitq) {
  // The producer waits on its own backend, so it watches the file for the
  // worker's commits; it is the one left open.
  const backend = new sitq.SQLiteBackend(dbPath);
  const queue = new sitq.TaskQueue(backend);
  const { tasks } = defineTasks(queue);
  const workerQueue = new sitq.TaskQueue(new sitq.SQLiteBackend(dbPath));
  defineTasks(workerQueue);
  const worker = workerQueue.worker();
  await worker.start();
  const id = await queue.enqueue(tasks.square, 7);
  const result = await queue.waitForResult(id, WAIT);
  await worker.stop();
  await workerQueue.close();
  return { driver: backend.driverName, result };
}

const phases = { full, enqueue, work, read, noclose };
if (!(phase in phases) || dbPath === undefined) {
  console.error(
    `usage: scenario.mjs <${Object.keys(phases).join("|")}> <db> [specifier]`,
  );
  process.exit(2);
}
/** @type {Sitq} */
const sitq = await import(entry);
const facts = await phases[/** @type {keyof typeof phases} */ (phase)](sitq);
console.log(JSON.stringify({
  runtime: runtime().name,
  runtimeVersion: runtime().version,
  // Which file the specifier resolved to: Node must get dist/ via `exports`.
  entry: import.meta.resolve(entry),
  ...facts,
}));
