/**
 * A sitq worker in its own process, for the multi-process scenarios. Prints
 * "ready" once its worker runs, then works until SIGTERM and stops
 * gracefully.
 *
 *   <runtime> bench/sitq/worker_process.js --db PATH --concurrency 8 --sync full
 *
 * @module
 */
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { loadSitq, openQueue } from "./load_sitq.js";

const args = parseChildArgs();
if (!args.db) throw new Error("--db is required");
const sitq = await loadSitq();
const { queue } = openQueue(sitq, args.db, args.sync ?? "full");
const worker = queue.worker({ concurrency: intArg(args, "concurrency", 8) });
await worker.start();
console.log("ready");
// run() is the documented worker-script form: it waits for SIGINT/SIGTERM
// and then stops gracefully (start() above made it already running).
await worker.run();
await queue.close();
process.exit(0);
