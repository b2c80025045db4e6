/**
 * Runs one sitq scenario on this runtime through sitq's public API and
 * reports it (mod.ts on Bun and Deno, dist/mod.js on Node).
 *
 *   bun bench/sitq/main.js --workload drain --concurrency 8 --n 10000
 *
 * Workloads: enqueue_one, enqueue_bulk, drain (--concurrency),
 * drain_procs (--processes, --concurrency), latency_in, latency_cross
 * (--samples), idle_cpu (--seconds), deep_queue (--rows, --n), long_drain
 * (--rows). `--queue-limit concurrency|rate` sets a limit on the tasks'
 * queue ("default") before the workload, high enough not to bind (a global
 * concurrency equal to the worker's, a rate of 10^9 per second): what
 * counting a limit in every claim costs (bench/scenarios_queues.ts).
 *
 * With `--pg-url URL` (the bench's PostgreSQL server) the queue uses
 * sitq's PostgresBackend in a fresh database there, and reports as
 * `pg.sitq`.
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { cpuPerOp, reportResult, reportSkip } from "../common/report.js";
import { latencySummary } from "../common/stats.js";
import { withTempDir } from "../common/temp_dir.js";
import { withPgDatabase } from "../common/pg_database.js";
import { loadSitq, loadSitqPostgres, openQueue } from "./load_sitq.js";
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

/** @type {Record<string, (o: any, store: import("./load_sitq.js").Store) => Promise<import("./workloads.js").SitqTimed>>} */
const WORKLOADS = {
  enqueue_one: (o) => enqueueOne(o, n),
  enqueue_bulk: (o) => enqueueBulk(o, n),
  drain: (o) => drain(o, n, concurrency, intArg(args, "warmup", 0)),
  drain_procs: (o, store) =>
    drainInProcesses(o, store, n, processes, concurrency),
  latency_in: (o) => latencyInProcess(o, samples),
  latency_cross: (o, store) => latencyCrossProcess(o, store, samples),
  idle_cpu: (o) => idleCpu(o, intArg(args, "seconds", 5)),
  deep_queue: (o) => deepQueue(o, intArg(args, "rows", 1_000_000), n),
  long_drain: (o) => longDrain(o, intArg(args, "rows", 1_000_000)),
};
const run = WORKLOADS[workload];
if (!run) throw new Error(`unknown --workload ${workload}`);

// With --pg-url the queue lives in a fresh database on the bench's
// PostgreSQL server and the rows are the PostgreSQL section's.
const pgServer = args["pg-url"];
const subject = pgServer ? "pg.sitq" : "sitq";

let sitq;
let postgres = null;
try {
  sitq = await loadSitq();
  if (pgServer) postgres = await loadSitqPostgres();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  // sitq/postgres ships with sitq: failing to load it is a bug to report,
  // not a runtime that cannot run it.
  if (pgServer) throw error;
  reportSkip(
    scenario,
    subject,
    `cannot load sitq${pgServer ? "/postgres" : ""}: ${message.split("\n")[0]}`,
    { fatal: true },
  );
  process.exit(0);
}

/**
 * Runs the workload on `store` and reports it.
 *
 * @param {import("./load_sitq.js").Store} store
 */
async function measure(store) {
  const opened = openQueue(sitq, store, postgres);
  try {
    const limit = args["queue-limit"];
    if (limit === "concurrency") {
      await opened.queue.queues.setLimits("default", { concurrency });
    } else if (limit === "rate") {
      await opened.queue.queues.setLimits("default", {
        rateLimit: { limit: 1_000_000_000, intervalMs: 1000 },
      });
    } else if (limit !== undefined) {
      throw new Error(`unknown --queue-limit ${limit}`);
    }
    const timed = await run(opened, store);
    reportResult({
      scenario,
      subject,
      ops: timed.ops,
      seconds: timed.seconds,
      cpu_us_per_op: cpuPerOp(timed),
      ...latencySummary(timed.latencies ?? []),
      note: timed.note,
      rate: timed.rate,
      extra: {
        driver: opened.backend.driverName ?? (pgServer ? "pg" : undefined),
        ...(pgServer ? { backend: "postgres" } : { synchronous: sync }),
        ...timed.extra,
      },
    });
  } finally {
    await opened.queue.close();
  }
}

if (pgServer) {
  await withPgDatabase(pgServer, (url) => measure({ kind: "postgres", url }));
} else {
  await withTempDir((dir) =>
    measure({ kind: "sqlite", path: join(dir, "sitq.db"), sync })
  );
}
process.exit(0);
