/**
 * A background service: a parent process enqueues work and starts N worker
 * processes on the same SQLite file (like GigQ's background service), waits
 * until every task is done, then stops the workers with SIGTERM. Each child
 * is this same script started with `--worker`; it runs `worker.run()`, which
 * shuts down gracefully on the signal.
 *
 * Run: `bun examples/worker_processes.ts [workers]` (default 3). Under Deno
 * the workers stop just as cleanly, but Deno 2.9's node:child_process reports
 * a child that handled SIGTERM and exited 0 as killed by the signal, so the
 * summary shows "exit code SIGTERM" there.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SQLiteBackend, type TaskContext, TaskQueue } from "../mod.ts";

/** Registers the tasks; parent and children must agree on them. */
function defineTasks(queue: TaskQueue) {
  return {
    render: queue.task(
      "render",
      async function (this: TaskContext, page: number) {
        await new Promise((resolve) => setTimeout(resolve, 40)); // the work
        console.log(`rendered page ${page}`);
        return `page-${page}.pdf`;
      },
    ),
  };
}

/** Child: one worker process on the shared file, until SIGINT/SIGTERM. */
async function runWorker(dbPath: string, workerId: string): Promise<void> {
  const queue = new TaskQueue(new SQLiteBackend(dbPath));
  const { render } = defineTasks(queue);
  const worker = queue.worker({ tasks: [render], concurrency: 2, workerId });
  await worker.start();
  const running = worker.run(); // run() adds the signal handlers...
  // ...in its next microtask; a timer fires after that, so the parent is told
  // "ready" only once a SIGTERM would be handled gracefully.
  setTimeout(() => console.log("ready"), 0);
  await running;
  console.log(`stopped after ${worker.stats().completed} tasks`);
  await queue.close();
}

/** Starts this script as a child worker, prefixing its output lines. */
function startChild(dbPath: string, workerId: string) {
  const script = fileURLToPath(import.meta.url);
  // Deno needs `run -A`; Bun and Node take the script directly.
  const runtimeArgs = "Deno" in globalThis ? ["run", "-A"] : [];
  const child = spawn(
    process.execPath,
    [...runtimeArgs, script, "--worker", dbPath, workerId],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line === "ready") onReady();
    else console.log(`[${workerId}] ${line}`);
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal))
  );
  console.log(`[parent] started ${workerId} (pid ${child.pid})`);
  return { workerId, child, ready, exited };
}

/** Parent: enqueue, start the workers, wait for the work, stop them. */
async function runService(workers: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sitq-service-"));
  const dbPath = join(dir, "tasks.db");
  const queue = new TaskQueue(new SQLiteBackend(dbPath));
  const { render } = defineTasks(queue);
  const ids = await queue.enqueueMany(
    render,
    Array.from({ length: 24 }, (_, i) => [i + 1]),
  );
  console.log(`[parent] enqueued ${ids.length} render tasks in ${dbPath}`);

  const children = Array.from(
    { length: workers },
    (_, i) => startChild(dbPath, `worker-${i + 1}`),
  );
  await Promise.all(children.map((child) => child.ready));
  console.log(`[parent] ${workers} workers ready; waiting for the tasks`);
  await Promise.all(
    ids.map((id) => queue.waitForResult(id, { timeout: 60_000 })),
  );

  console.log("[parent] all tasks done; sending SIGTERM to every worker");
  for (const { child } of children) (child as ChildProcess).kill("SIGTERM");
  const codes = await Promise.all(children.map((child) => child.exited));

  // What the database says each worker did (GigQ's monitoring view).
  const perWorker = new Map<string, number>();
  for (const id of ids) {
    const { workerId } = await queue.getTask(id);
    perWorker.set(workerId!, (perWorker.get(workerId!) ?? 0) + 1);
  }
  const stats = await queue.stats();
  console.log("Summary:");
  for (const [index, { workerId }] of children.entries()) {
    console.log(
      `  ${workerId}: ${perWorker.get(workerId) ?? 0} tasks, exit code ${
        codes[index]
      }`,
    );
  }
  const clean = codes.every((code) => code === 0);
  console.log(
    `  ${stats.completed} of ${ids.length} tasks completed by ${workers} worker processes; ${
      clean ? "all exited cleanly" : "some did not exit cleanly"
    }`,
  );
  await queue.close();
  rmSync(dir, { recursive: true, force: true });
  if (!clean) process.exitCode = 1;
}

const args = process.argv.slice(2);
if (args[0] === "--worker") await runWorker(args[1]!, args[2]!);
else await runService(Number(args[0] ?? 3));
