/**
 * A sitq worker in its own process, for the multi-process scenarios. Prints
 * "ready" once its worker runs, then "completed <n>" as its count of
 * completed tasks grows, and works until SIGTERM and stops gracefully.
 *
 *   <runtime> bench/sitq/worker_process.js --db PATH --sync full --concurrency 8
 *   <runtime> bench/sitq/worker_process.js --pg-url URL --concurrency 8
 *
 * @module
 */
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import {
  loadSitq,
  loadSitqPostgres,
  openQueue,
  storeFromArgs,
} from "./load_sitq.js";

const args = parseChildArgs();
const store = storeFromArgs(args);
const sitq = await loadSitq();
const postgres = store.kind === "postgres" ? await loadSitqPostgres() : null;
const { queue } = openQueue(sitq, store, postgres);
const worker = queue.worker({ concurrency: intArg(args, "concurrency", 8) });
await worker.start();
console.log("ready");
// How many tasks this worker completed, printed whenever it changed (at
// most every 5 ms): the parent sums the processes' counts to learn when a
// drain is over without querying the database, which on a 2-core machine
// took a tenth of a core from the workers it was timing.
let reported = 0;
setInterval(() => {
  const { completed } = worker.stats();
  if (completed === reported) return;
  reported = completed;
  console.log(`completed ${completed}`);
}, 5).unref();
// run() is the documented worker-script form: it waits for SIGINT/SIGTERM
// and then stops gracefully (start() above made it already running).
await worker.run();
await queue.close();
process.exit(0);
