/**
 * The floor's batched drain in several processes of the same runtime on one
 * file (floor/drain_process.js): what the SQLite file allows workers in
 * other processes, against which sitq's own multi-process drain can be read.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import {
  spawnSameRuntime,
  terminate,
  waitForLine,
} from "../common/spawn_runtime.js";
import { nowMs } from "../common/stats.js";
import { expectCount, prefill } from "./workloads.js";

const DRAIN_SCRIPT = new URL("./drain_process.js", import.meta.url);

/**
 * Enqueues `n` tasks, starts `processes` processes that each drain in
 * batches of `batch` until nothing is due, and times from the go signal
 * until every process has printed its count.
 *
 * @param {import("./drivers.js").FloorDatabase} db the parent's connection
 * @param {string} path the database file
 * @param {string} sync the `synchronous` level every process uses
 * @param {number} n
 * @param {number} processes
 * @param {number} batch
 * @returns {Promise<import("./workloads.js").Timed>}
 */
export async function drainInProcesses(db, path, sync, n, processes, batch) {
  prefill(db, n);
  const go = `${path}.go`;
  const children = Array.from(
    { length: processes },
    () =>
      spawnSameRuntime(DRAIN_SCRIPT, [
        "--db",
        path,
        "--go",
        go,
        "--sync",
        sync,
        "--batch",
        `${batch}`,
      ]),
  );
  try {
    await Promise.all(children.map((c) => waitForLine(c, "ready", 30_000)));
    const counts = children.map((child) =>
      new Promise((resolve, reject) => {
        let buffer = "";
        child.stdout.on("data", (/** @type {string} */ chunk) => {
          buffer += chunk;
          const match = /^done (\d+)$/m.exec(buffer);
          if (match) resolve(Number(match[1]));
        });
        child.once("exit", (code) => {
          if (!/^done \d+$/m.test(buffer)) {
            reject(new Error(`floor process exited with ${code} before done`));
          }
        });
      })
    );
    const start = nowMs();
    writeFileSync(go, "");
    const done = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
    const seconds = (nowMs() - start) / 1000;
    expectCount(db, "completed", n);
    return { ops: done, seconds };
  } finally {
    await Promise.all(children.map(terminate));
  }
}
