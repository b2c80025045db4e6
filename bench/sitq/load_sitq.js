/**
 * Loads sitq's public API the way each runtime's users get it: the
 * TypeScript source (mod.ts) on Bun and Deno, the compiled package
 * (dist/mod.js, from `npm run build`) on Node.
 *
 * @module
 */
import { runtimeName } from "../common/runtime.js";

/**
 * @returns {Promise<any>} the sitq module namespace
 */
export async function loadSitq() {
  // A variable specifier: Node must never try to load the .ts entry.
  const entry = runtimeName() === "node" ? "../../dist/mod.js" : "../../mod.ts";
  return await import(new URL(entry, import.meta.url).href);
}

/**
 * Opens a backend and queue on `path` with the bench's durability, and
 * registers the bench's tasks.
 *
 * @param {any} sitq the module from {@link loadSitq}
 * @param {string} path
 * @param {string} sync "full" or "normal"
 */
export function openQueue(sitq, path, sync) {
  const backend = new sitq.SQLiteBackend(path, { synchronous: sync });
  const queue = new sitq.TaskQueue(backend);
  const tasks = {
    /** Does nothing: the queue's own overhead is what is measured. */
    noop: queue.task("noop", () => {}),
    /** Returns when it started, on the shared wall clock, in ms. */
    stamp: queue.task(
      "stamp",
      () => performance.timeOrigin + performance.now(),
    ),
  };
  return { backend, queue, tasks };
}

/**
 * The wall clock with sub-millisecond resolution, comparable across
 * processes on one machine.
 *
 * @returns {number}
 */
export function wallMs() {
  return performance.timeOrigin + performance.now();
}
