/**
 * The worker process: binds the handlers to the declarations of tasks.ts
 * and runs them until SIGINT or SIGTERM. Started by producer.ts; run it on
 * its own with `bun examples/declared_tasks/worker.ts <db>`.
 *
 * The handlers' parameters are typed from the declarations: a handler that
 * took `width: string`, or returned no `file`, would not compile.
 *
 * @module
 */
import process from "node:process";
import { SQLiteBackend, TaskQueue } from "../../mod.ts";
import { notify, thumbnail } from "./tasks.ts";

const queue = new TaskQueue(new SQLiteBackend(process.argv[2] ?? "tasks.db"));

queue.task(thumbnail, async (path, width) => {
  await new Promise((resolve) => setTimeout(resolve, 20)); // the work
  console.log(`made a ${width}px thumbnail of ${path}`);
  return { file: path.replace(/\.(\w+)$/, `-${width}.$1`), width };
});
queue.task(notify, (user, message) => {
  console.log(`told ${user}: ${message}`);
  return { delivered: true, to: user };
}, { backoff: { type: "fixed", delay: 1000 } }); // read by this worker only

const worker = queue.worker({ concurrency: 4 });
await worker.start();
const running = worker.run(); // stops gracefully on SIGINT/SIGTERM
// run() adds its signal handlers in its next microtask: say "ready" after.
setTimeout(() => console.log("ready"), 0);
await running;
console.log(`stopped after ${worker.stats().completed} tasks`);
await queue.close();
