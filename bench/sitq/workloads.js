/**
 * sitq's in-process workloads, through its public API only. Each function
 * gets a freshly opened queue and times only the work it names.
 *
 * @module
 */
import process from "node:process";
import { cpuClock, measureCpu, samplePeakRss } from "../common/resources.js";
import { nowMs } from "../common/stats.js";
import { wallMs } from "./load_sitq.js";

/**
 * @typedef {object} Opened
 * @property {any} queue   a sitq TaskQueue
 * @property {{ noop: any, stamp: any }} tasks
 */

/**
 * @typedef {object} SitqTimed
 * @property {number} ops
 * @property {number} seconds
 * @property {number[]} [latencies]
 * @property {string} [note]
 * @property {Record<string, unknown>} [extra]
 * @property {boolean} [rate] false when ops/s means nothing
 * @property {number} [cpu_us] CPU time (user + system) of the timed part, in µs
 */

const argsList = (/** @type {number} */ n) =>
  Array.from({ length: n }, (_, i) => [i]);

/**
 * `enqueue` `n` times, awaiting each: one transaction per task.
 *
 * @param {Opened} o
 * @param {number} n
 * @returns {Promise<SitqTimed>}
 */
export async function enqueueOne({ queue, tasks }, n) {
  await queue.backend.open();
  const latencies = new Array(n);
  const cpu = cpuClock();
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await queue.enqueue(tasks.noop, i);
    latencies[i] = nowMs() - t0;
  }
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  await expectStats(queue, "queued", n);
  return { ops: n, seconds, latencies, cpu_us: cpuUs };
}

/**
 * One `enqueueMany` of `n` tasks.
 *
 * @param {Opened} o
 * @param {number} n
 * @returns {Promise<SitqTimed>}
 */
export async function enqueueBulk({ queue, tasks }, n) {
  await queue.backend.open();
  const list = argsList(n);
  const cpu = cpuClock();
  const start = nowMs();
  await queue.enqueueMany(tasks.noop, list);
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  await expectStats(queue, "queued", n);
  return { ops: n, seconds, cpu_us: cpuUs };
}

/**
 * Enqueues `n` no-op tasks in bulk (untimed), then times one in-process
 * worker at `concurrency` from `start()` until `onIdle()`. With `warmup`,
 * first drains that many the same way, untimed.
 *
 * @param {Opened} o
 * @param {number} n
 * @param {number} concurrency
 * @param {number} [warmup]
 * @returns {Promise<SitqTimed>}
 */
export async function drain({ queue, tasks }, n, concurrency, warmup = 0) {
  if (warmup > 0) {
    // Untimed: the same drain of `warmup` tasks first, so the timed one
    // runs on code the engine has already compiled, as in a worker that
    // has been up for a while.
    await queue.enqueueMany(tasks.noop, argsList(warmup));
    const first = queue.worker({ concurrency });
    await first.start();
    await first.onIdle();
    await first.stop();
  }
  await queue.enqueueMany(tasks.noop, argsList(n));
  const worker = queue.worker({ concurrency });
  const rss = samplePeakRss();
  const cpu = cpuClock();
  const start = nowMs();
  await worker.start();
  await worker.onIdle();
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  const memory = rss.stop();
  await worker.stop();
  await expectStats(queue, "completed", warmup + n);
  return {
    ops: n,
    seconds,
    cpu_us: cpuUs,
    note: warmup > 0
      ? `after ${warmup} untimed; peak RSS ${memory.peak_rss_mb} MB`
      : `peak RSS ${memory.peak_rss_mb} MB`,
    extra: memory,
  };
}

/**
 * Pickup latency with an in-process worker at concurrency 1: from just
 * before `enqueue` to the moment the handler starts, one task at a time on
 * an otherwise idle queue.
 *
 * @param {Opened} o
 * @param {number} samples
 * @returns {Promise<SitqTimed>}
 */
export async function latencyInProcess({ queue, tasks }, samples) {
  const worker = queue.worker({ concurrency: 1 });
  await worker.start();
  try {
    return await sampleLatency(queue, tasks, samples);
  } finally {
    await worker.stop();
  }
}

/**
 * Enqueues one `stamp` task at a time and waits for its result, which is
 * the wall-clock time its handler started.
 *
 * @param {any} queue
 * @param {{ stamp: any }} tasks
 * @param {number} samples
 * @returns {Promise<SitqTimed>}
 */
export async function sampleLatency(queue, tasks, samples) {
  const warmup = 5;
  const pickup = [];
  const roundTrip = [];
  const start = nowMs();
  for (let i = 0; i < samples + warmup; i++) {
    const t0 = wallMs();
    const id = await queue.enqueue(tasks.stamp);
    const result = await queue.waitForResult(id, { timeout: 30_000 });
    if (result.status !== "completed") {
      throw new Error(`latency task ended ${result.status}`);
    }
    if (i < warmup) continue;
    pickup.push(result.value - t0);
    roundTrip.push(wallMs() - t0);
  }
  const sorted = roundTrip.sort((a, b) => a - b);
  const at = (/** @type {number} */ p) =>
    Math.round(sorted[Math.ceil(p * sorted.length) - 1] * 1000) / 1000;
  return {
    ops: samples,
    seconds: (nowMs() - start) / 1000,
    latencies: pickup,
    rate: false,
    note: `enqueue -> handler start; enqueue -> result p50 ${at(0.5)} ms`,
    extra: { round_trip_p50_ms: at(0.5), round_trip_p99_ms: at(0.99) },
  };
}

/**
 * CPU used by an idle worker (concurrency 8, default polling) watching an
 * empty queue for `seconds`.
 *
 * @param {Opened} o
 * @param {number} seconds
 * @returns {Promise<SitqTimed>}
 */
export async function idleCpu({ queue }, seconds) {
  const worker = queue.worker({ concurrency: 8 });
  await worker.start();
  await worker.onIdle();
  const cpu = await measureCpu(() =>
    new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  );
  await worker.stop();
  return {
    ops: 0,
    seconds,
    rate: false,
    note: `${cpu.cpu_percent}% of one core while idle`,
    extra: cpu,
  };
}

/**
 * A deep queue: enqueues `rows` tasks (in bulk chunks, timed separately),
 * then times draining `n` of them at concurrency 8, and one `stats()`.
 *
 * @param {Opened} o
 * @param {number} rows
 * @param {number} n
 * @returns {Promise<SitqTimed>}
 */
export async function deepQueue({ queue, tasks }, rows, n) {
  const fillSeconds = await fill(queue, tasks, rows);
  const worker = queue.worker({ concurrency: 8 });
  const rss = samplePeakRss();
  let completed = 0;
  /** @type {() => void} */
  let reached = () => {};
  const enough = new Promise((resolve) => (reached = () => resolve(undefined)));
  worker.on("completed", () => {
    if (++completed === n) reached();
  });
  const start = nowMs();
  await worker.start();
  await enough;
  const seconds = (nowMs() - start) / 1000;
  await worker.stop();
  const memory = rss.stop();
  const statsStart = nowMs();
  const stats = await queue.stats();
  const statsMs = nowMs() - statsStart;
  return {
    ops: n,
    seconds,
    note: `${
      rows.toLocaleString("en-US")
    } queued; peak RSS ${memory.peak_rss_mb} MB`,
    extra: {
      ...memory,
      rows,
      fill_per_second: Math.round(rows / fillSeconds),
      stats_ms: Math.round(statsMs * 10) / 10,
      stats,
    },
  };
}

/**
 * Enqueues `rows` no-op tasks in bulk chunks (so their argument lists can be
 * collected as it goes); returns the seconds it took.
 *
 * @param {any} queue
 * @param {{ noop: any }} tasks
 * @param {number} rows
 * @returns {Promise<number>}
 */
async function fill(queue, tasks, rows) {
  const chunk = 50_000;
  const start = nowMs();
  for (let done = 0; done < rows; done += chunk) {
    await queue.enqueueMany(tasks.noop, argsList(Math.min(chunk, rows - done)));
  }
  return (nowMs() - start) / 1000;
}

/** Resident memory in MB, after a full GC where the runtime offers one. */
function settledRssMb() {
  const g = /** @type {any} */ (globalThis);
  g.Bun?.gc?.(true);
  g.gc?.();
  return Math.round(process.memoryUsage().rss / 1048576);
}

/**
 * A long run: enqueues `rows` tasks, then one worker at concurrency 8
 * drains every one of them. Reports the rate over the whole run and the
 * process's memory before, at its peak and after: a leak would show as
 * "after" growing with `rows`.
 *
 * @param {Opened} o
 * @param {number} rows
 * @returns {Promise<SitqTimed>}
 */
export async function longDrain({ queue, tasks }, rows) {
  await fill(queue, tasks, rows);
  const before = settledRssMb();
  const worker = queue.worker({ concurrency: 8 });
  const rss = samplePeakRss(200);
  const start = nowMs();
  await worker.start();
  await worker.onIdle();
  const seconds = (nowMs() - start) / 1000;
  await worker.stop();
  const { peak_rss_mb } = rss.stop();
  const after = settledRssMb();
  await expectStats(queue, "completed", rows);
  return {
    ops: rows,
    seconds,
    note: `all ${
      rows.toLocaleString("en-US")
    } drained; RSS ${before} MB before, ${peak_rss_mb} MB peak, ${after} MB after`,
    extra: { rss_before_mb: before, peak_rss_mb, rss_after_mb: after },
  };
}

/**
 * Fails the run unless `queue.stats()[status]` is `n`.
 *
 * @param {any} queue
 * @param {string} status
 * @param {number} n
 */
async function expectStats(queue, status, n) {
  const stats = await queue.stats();
  if (stats[status] !== n) {
    throw new Error(
      `expected ${n} ${status} tasks, stats say ${JSON.stringify(stats)}`,
    );
  }
}
