/**
 * A producer without handler code: this process imports the declarations
 * (tasks.ts) and never the handlers (worker.ts), as a web server would. It
 * starts worker.ts as a child process on the same SQLite file, enqueues
 * through the declarations (arguments type-checked), awaits the results
 * (typed from the declarations), and stops the worker.
 *
 * Run: `bun examples/declared_tasks/producer.ts` (or `deno run -A`).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SQLiteBackend, TaskQueue } from "../../mod.ts";
import { notify, thumbnail } from "./tasks.ts";

const dir = mkdtempSync(join(tmpdir(), "sitq-declared-"));
const dbPath = join(dir, "tasks.db");

// The worker: another process, the only one that loads the handlers.
const script = fileURLToPath(new URL("./worker.ts", import.meta.url));
const runtimeArgs = "Deno" in globalThis ? ["run", "-A"] : [];
const child = spawn(process.execPath, [...runtimeArgs, script, dbPath], {
  stdio: ["ignore", "pipe", "inherit"],
});
// "close", not "exit": it comes once the worker's output is all read.
const exited = new Promise<number | string | null>((resolve) =>
  child.on("close", (code, signal) => resolve(code ?? signal))
);
const ready = new Promise<void>((resolve) =>
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line === "ready") resolve();
    else console.log(`[worker] ${line}`);
  })
);

// The producer: declarations registered, no handler in sight.
const queue = new TaskQueue(new SQLiteBackend(dbPath));
queue.declare(thumbnail, notify);
const images = ["cat.png", "dog.jpg", "fox.webp"];
const thumbs = await queue.enqueueMany(
  thumbnail,
  images.map((path) => [path, 200] as [string, number]),
);
const note = await queue.enqueue(notify, "ada", "your thumbnails are ready");
console.log(`[producer] enqueued ${thumbs.length + 1} tasks`);

await ready;
for (const id of thumbs) {
  const result = await queue.waitForResult(id, { timeout: 30_000 });
  // result.value is { file: string; width: number }, from the declaration.
  if (result.status === "completed") {
    console.log(`[producer] thumbnail ${id}: ${result.value.file}`);
  }
}
const told = await queue.waitForResult(note, { timeout: 30_000 });
if (told.status === "completed") {
  console.log(`[producer] notify: delivered to ${told.value.to}`);
}
console.log(
  `[producer] bound handlers in this process: ${queue.tasks.length}`,
);

child.kill("SIGTERM");
console.log(`[producer] worker exited with ${await exited}`);
await queue.close();
rmSync(dir, { recursive: true, force: true });
