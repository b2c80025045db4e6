/**
 * A worker script that shuts down gracefully on Ctrl+C (SIGINT) or SIGTERM.
 * `worker.run()` runs the worker until one of those signals, then stops
 * claiming, lets running tasks finish for up to the shutdown timeout, and
 * aborts the rest and puts them back in the queue at once, so another worker
 * (or the next start) runs them; nothing is lost.
 *
 * Run: `bun examples/graceful_shutdown.ts` and press Ctrl+C once the tasks
 * have started, or `bun examples/graceful_shutdown.ts --self-test`, which
 * sends itself SIGINT once the first tasks have started.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { SQLiteBackend, type TaskContext, TaskQueue } from "../mod.ts";

const selfTest = process.argv.includes("--self-test");
const SHUTDOWN_TIMEOUT = 1000;

/** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

// Our own listener only reports the signal; worker.run() handles it.
let onSignal: () => void = () => {};
const signalled = new Promise<void>((resolve) => (onSignal = resolve));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(
      `${signal} received: claiming nothing new; running tasks get ${SHUTDOWN_TIMEOUT} ms to finish`,
    );
    onSignal();
  });
}

const dir = mkdtempSync(join(tmpdir(), "sitq-shutdown-"));
const queue = new TaskQueue(new SQLiteBackend(join(dir, "tasks.db")));

let started = 0;
/** Logs a start; in self-test mode, plays the user pressing Ctrl+C. */
function taskStarted(context: TaskContext, what: string): void {
  console.log(`task ${context.id} started: ${what}`);
  started++;
  if (selfTest && started === 2) process.kill(process.pid, "SIGINT");
}

// Short work: finishes within the shutdown timeout.
const thumbnail = queue.task(
  "thumbnail",
  async function (this: TaskContext, file: string) {
    taskStarted(this, `thumbnail of ${file}`);
    // In self-test mode wait for the signal first, so the run shows the same
    // thing every time: this task is still running when shutdown begins.
    if (selfTest) await signalled;
    await sleep(100, this.signal);
    return `${file}.thumb.jpg`;
  },
);

// Long work: honours its signal, so the shutdown deadline can interrupt it.
const transcode = queue.task(
  "transcode",
  async function (this: TaskContext, file: string) {
    taskStarted(this, `transcode of ${file} (takes a minute)`);
    for (let percent = 0; percent < 100; percent++) {
      await sleep(600, this.signal); // rejects with InterruptedError at the deadline
    }
    return `${file}.webm`;
  },
);

const ids = [
  await queue.enqueue(transcode.with({ priority: 1 }), "movie.mp4"),
  ...await queue.enqueueMany(thumbnail, [
    ["photo-1.jpg"],
    ["photo-2.jpg"],
    ["photo-3.jpg"],
  ]),
];
const worker = queue.worker({ concurrency: 2 });
worker.on("completed", ({ id, value }) => {
  console.log(`task ${id} completed: ${JSON.stringify(value)}`);
});
console.log(
  `Worker ${worker.id} running ${ids.length} tasks, 2 at a time; press Ctrl+C to stop`,
);

await worker.run({ timeout: SHUTDOWN_TIMEOUT });
console.log("Worker stopped. Where every task is now:");

let finished = 0, requeued = 0, untouched = 0;
for (const id of ids) {
  const task = await queue.getTask(id);
  const last = task.history.at(-1);
  let note = "";
  if (task.status === "completed") {
    finished++;
    note = "finished";
  } else if (last?.outcome === "interrupted") {
    requeued++;
    note =
      `interrupted (${last.error?.name}) and back in the queue with ${task.attempts} attempts used`;
  } else if (task.status === "queued" && task.history.length === 0) {
    untouched++;
    note = "never started, still queued";
  }
  console.log(
    `  task ${id} (${task.name} ${task.args[0]}): ${task.status}, ${note}`,
  );
}
console.log(
  `Shutdown complete: ${finished} finished, ${requeued} requeued, ${untouched} never started`,
);

await queue.close();
rmSync(dir, { recursive: true, force: true });
