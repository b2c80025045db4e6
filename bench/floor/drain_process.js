/**
 * One process of the floor's multi-process drain (floor/processes.js):
 * opens the file, prints "ready", waits for the parent's go file, then runs
 * the batched drain's rounds (workloads.js `batchRound`) until a claim finds
 * nothing due, and prints "done <count>".
 *
 *   <runtime> bench/floor/drain_process.js --db PATH --go PATH --sync normal --batch 8
 *
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { openFloorDatabase } from "./drivers.js";
import { applyPragmas } from "./schema.js";
import { batchRound } from "./workloads.js";

const args = parseChildArgs();
if (!args.db || !args.go) throw new Error("--db and --go are required");
const db = await openFloorDatabase(args.db);
applyPragmas(db, args.sync ?? "full");
const round = batchRound(db, intArg(args, "batch", 8), `floor-${process.pid}`);
console.log("ready");
// The parent starts every process at once by creating the go file; a 1 ms
// poll is noise next to a drain of hundreds of ms.
while (!existsSync(args.go)) {
  await new Promise((resolve) => setTimeout(resolve, 1));
}
let done = 0;
for (let count = round(); count > 0; count = round()) done += count;
console.log(`done ${done}`);
db.close();
