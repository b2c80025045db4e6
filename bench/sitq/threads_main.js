/**
 * sitq's worker-thread scenarios on this runtime, through the public API
 * (mod.ts on Bun and Deno, dist/mod.js on Node), each reporting one row:
 *
 *   bun bench/sitq/threads_main.js --workload cpu --n 40 --ms 50
 *   bun bench/sitq/threads_main.js --workload noop --n 5000
 *
 * - `cpu`: `n` CPU-bound tasks of a fixed amount of work (about `ms` ms
 *   each, calibrated on this runtime first) at concurrency 2, on the
 *   worker's event loop and then in a pool of 2 threads; the row is the
 *   pool's, its note the speed-up over the event loop.
 * - `noop`: `n` no-op tasks at concurrency 2, on the event loop and in 2
 *   threads; the row is the pool's, its note the wall and CPU time each
 *   task costs more in a thread.
 *
 * The queue is in memory (`:memory:`): the figures are the pool's cost,
 * with no fsync in them. Threads are started before the timed part (two
 * warm-up tasks), so the rows are the steady state; starting a thread
 * costs a few tens of ms once.
 *
 * @module
 */
import { intArg, parseChildArgs } from "../common/child_args.js";
import { cpuClock } from "../common/resources.js";
import { reportResult, reportSkip } from "../common/report.js";
import { nowMs } from "../common/stats.js";
import { noop, work } from "./cpu_handlers.js";
import { loadSitq } from "./load_sitq.js";

const args = parseChildArgs();
const workload = args.workload ?? "cpu";
const n = intArg(args, "n", 40);
const workMs = intArg(args, "ms", 50);
const scenario = args.scenario ?? workload;

let sitq;
try {
  sitq = await loadSitq();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  reportSkip(scenario, "sitq", `cannot load sitq: ${message.split("\n")[0]}`, {
    fatal: true,
  });
  process.exit(0);
}

const HANDLERS = new URL("./cpu_handlers.js", import.meta.url);

/**
 * Runs `argsList` of `task` with a worker at concurrency 2 (with 2 threads
 * when `threads`), after `warmup` untimed runs; returns seconds and CPU µs
 * of the timed part.
 */
async function drain(queue, task, argsList, warmup, threads) {
  const worker = queue.worker({
    tasks: [task],
    concurrency: 2,
    ...(threads ? { threads: { size: 2 } } : {}),
  });
  await worker.start();
  await queue.enqueueMany(task, warmup);
  await worker.onIdle();
  const cpu = cpuClock();
  const start = nowMs();
  const ids = await queue.enqueueMany(task, argsList);
  await worker.onIdle();
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  await worker.stop();
  const last = await queue.getResult(ids[ids.length - 1]);
  if (last.status !== "completed") {
    throw new Error(`task ${ids[ids.length - 1]} ended ${last.status}`);
  }
  return { seconds, cpuUs };
}

/** Iterations of `work` that take about `ms` ms on this runtime. */
function calibrate(ms) {
  for (let i = 0; i < 5; i++) work(1_000_000);
  const probe = 20_000_000;
  const start = nowMs();
  work(probe);
  const took = nowMs() - start;
  return Math.max(1, Math.round(probe * ms / took));
}

const round = (value, digits) => Number(value.toFixed(digits));

const queue = new sitq.TaskQueue(new sitq.SQLiteBackend(":memory:"));
const inThreads = sitq.threadModule(HANDLERS);
try {
  if (workload === "cpu") {
    const iterations = calibrate(workMs);
    const list = Array.from({ length: n }, () => [iterations]);
    const warm = [[iterations], [iterations]];
    const loop = await drain(
      queue,
      queue.task("work_loop", work),
      list,
      warm,
      false,
    );
    const pool = await drain(
      queue,
      queue.task("work_threads", inThreads.handler("work")),
      list,
      warm,
      true,
    );
    const speedup = loop.seconds / pool.seconds;
    reportResult({
      scenario,
      subject: "sitq",
      ops: n,
      seconds: pool.seconds,
      cpu_us_per_op: round(pool.cpuUs / n, 1),
      note: `${n} tasks of ~${workMs} ms CPU at concurrency 2: event loop ${
        loop.seconds.toFixed(2)
      } s, 2 threads ${pool.seconds.toFixed(2)} s: x${speedup.toFixed(2)}`,
      extra: {
        work_ms: workMs,
        iterations,
        loop_seconds: round(loop.seconds, 3),
        threads_seconds: round(pool.seconds, 3),
        speedup: round(speedup, 2),
      },
    });
  } else if (workload === "noop") {
    const list = Array.from({ length: n }, () => []);
    const warm = [[], []];
    const loop = await drain(
      queue,
      queue.task("noop_loop", noop),
      list,
      warm,
      false,
    );
    const pool = await drain(
      queue,
      queue.task("noop_threads", inThreads.handler("noop")),
      list,
      warm,
      true,
    );
    const wallUs = ((pool.seconds - loop.seconds) / n) * 1e6;
    const cpuUs = (pool.cpuUs - loop.cpuUs) / n;
    reportResult({
      scenario,
      subject: "sitq",
      ops: n,
      seconds: pool.seconds,
      cpu_us_per_op: round(pool.cpuUs / n, 1),
      note: `no-op tasks at concurrency 2, in memory: event loop ${
        Math.round(n / loop.seconds)
      }/s (${(loop.cpuUs / n).toFixed(0)} µs CPU each), 2 threads ${
        Math.round(n / pool.seconds)
      }/s: +${wallUs.toFixed(0)} µs wall, +${cpuUs.toFixed(0)} µs CPU per task`,
      extra: {
        loop_seconds: round(loop.seconds, 3),
        threads_seconds: round(pool.seconds, 3),
        loop_cpu_us_per_task: round(loop.cpuUs / n, 1),
        overhead_wall_us_per_task: round(wallUs, 1),
        overhead_cpu_us_per_task: round(cpuUs, 1),
      },
    });
  } else {
    throw new Error(`unknown --workload ${workload}`);
  }
} finally {
  await queue.close();
}
