/**
 * Runs one floor workload on this runtime's SQLite driver and reports it.
 *
 *   bun  bench/floor/main.js --workload drain_one --n 10000 [--sync normal]
 *   deno run -A bench/floor/main.js ...
 *   node bench/floor/main.js ...
 *
 * Workloads: enqueue_one, enqueue_bulk, drain_one, drain_batched, and
 * drain_procs (drain_batched in `--processes` processes, floor/processes.js).
 *
 * @module
 */
import { join } from "node:path";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { cpuPerOp, reportResult } from "../common/report.js";
import { latencySummary } from "../common/stats.js";
import { withTempDir } from "../common/temp_dir.js";
import { openFloorDatabase } from "./drivers.js";
import { drainInProcesses } from "./processes.js";
import { applyPragmas, createSchema } from "./schema.js";
import {
  drainBatched,
  drainOne,
  enqueueBulk,
  enqueueOne,
  prefill,
} from "./workloads.js";

const args = parseChildArgs();
const workload = args.workload ?? "drain_one";
const n = intArg(args, "n", 10_000);
const batch = intArg(args, "batch", 8);
const sync = args.sync ?? "full";
const processes = intArg(args, "processes", 4);

/** @type {Record<string, (db: import("./drivers.js").FloorDatabase, path: string) => import("./workloads.js").Timed | Promise<import("./workloads.js").Timed>>} */
const WORKLOADS = {
  enqueue_one: (db) => enqueueOne(db, n),
  enqueue_bulk: (db) => enqueueBulk(db, n),
  drain_one: (db) => {
    prefill(db, n);
    return drainOne(db, n);
  },
  drain_batched: (db) => {
    // --warmup: the same drain of that many tasks first, untimed (see
    // sitq's `drain`).
    const warmup = intArg(args, "warmup", 0);
    if (warmup > 0) {
      prefill(db, warmup);
      drainBatched(db, warmup, batch);
    }
    prefill(db, n);
    return drainBatched(db, n, batch, warmup);
  },
  drain_procs: (db, path) =>
    drainInProcesses(db, path, sync, n, processes, batch),
};

const run = WORKLOADS[workload];
if (!run) {
  throw new Error(
    `unknown --workload ${workload}; one of ${Object.keys(WORKLOADS)}`,
  );
}

await withTempDir(async (dir) => {
  const path = join(dir, "floor.db");
  const db = await openFloorDatabase(path);
  try {
    applyPragmas(db, sync);
    createSchema(db);
    const timed = await run(db, path);
    reportResult({
      scenario: workload,
      subject: "floor",
      ops: timed.ops,
      seconds: timed.seconds,
      cpu_us_per_op: cpuPerOp(timed),
      ...latencySummary(timed.latencies ?? []),
      note: workload === "drain_batched"
        ? `batches of ${batch}; latency per batch${
          args.warmup ? `; after ${args.warmup} untimed` : ""
        }`
        : workload === "drain_procs"
        ? `${processes} processes x batches of ${batch}`
        : undefined,
      extra: {
        driver: db.driver,
        sqlite_version: db.prepare("SELECT sqlite_version() AS v").get().v,
        synchronous: sync,
      },
    });
  } finally {
    db.close();
  }
});
