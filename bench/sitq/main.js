/**
 * Runs one sitq scenario on this runtime through sitq's public API and
 * reports it (mod.ts on Bun and Deno, dist/mod.js on Node).
 *
 *   bun bench/sitq/main.js --workload drain --concurrency 8 --n 10000
 *
 * Workloads: enqueue_one, enqueue_bulk, drain (--concurrency),
 * drain_procs (--processes, --concurrency), latency_in, latency_cross
 * (--samples), idle_cpu (--seconds), deep_queue (--rows, --n), long_drain
 * (--rows).
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { cpuPerOp, reportResult, reportSkip } from "../common/report.js";
import { latencySummary } from "../common/stats.js";
import { withTempDir } from "../common/temp_dir.js";
import { loadSitq, openQueue } from "./load_sitq.js";
import { drainInProcesses, latencyCrossProcess } from "./processes.js";
import {
  deepQueue,
  drain,
  enqueueBulk,
  enqueueOne,
  idleCpu,
  latencyInProcess,
  longDrain,
} from "./workloads.js";

const args = parseChildArgs();
const workload = args.workload ?? "drain";
const n = intArg(args, "n", 10_000);
const concurrency = intArg(args, "concurrency", 1);
const processes = intArg(args, "processes", 2);
const samples = intArg(args, "samples", 200);
const sync = args.sync ?? "full";
const scenario = args.scenario ?? workload;

/** @type {Record<string, (o: any, db: { path: string, sync: string }) => Promise<import("./workloads.js").SitqTimed>>} */
const WORKLOADS = {
  enqueue_one: (o) => enqueueOne(o, n),
  enqueue_bulk: (o) => enqueueBulk(o, n),
  drain: (o) => drain(o, n, concurrency),
  drain_procs: (o, db) => drainInProcesses(o, db, n, processes, concurrency),
  latency_in: (o) => latencyInProcess(o, samples),
  latency_cross: (o, db) => latencyCrossProcess(o, db, samples),
  idle_cpu: (o) => idleCpu(o, intArg(args, "seconds", 5)),
  deep_queue: (o) => deepQueue(o, intArg(args, "rows", 1_000_000), n),
  long_drain: (o) => longDrain(o, intArg(args, "rows", 1_000_000)),
};
const run = WORKLOADS[workload];
if (!run) throw new Error(`unknown --workload ${workload}`);

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

await withTempDir(async (dir) => {
  const path = join(dir, "sitq.db");
  const opened = openQueue(sitq, path, sync);
  try {
    const timed = await run(opened, { path, sync });
    reportResult({
      scenario,
      subject: "sitq",
      ops: timed.ops,
      seconds: timed.seconds,
      cpu_us_per_op: cpuPerOp(timed),
      ...latencySummary(timed.latencies ?? []),
      note: timed.note,
      rate: timed.rate,
      extra: {
        driver: opened.backend.driverName,
        synchronous: sync,
        ...timed.extra,
      },
    });
  } finally {
    await opened.queue.close();
  }
});
process.exit(0);
