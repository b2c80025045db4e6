/**
 * Loads sitq's public API the way each runtime's users get it: the
 * TypeScript source (mod.ts, postgres.ts) on Bun and Deno, the compiled
 * package (dist/, from `npm run build`) on Node.
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
 * Loads sitq's PostgreSQL entry (`sitq/postgres`): postgres.ts on Bun and
 * Deno, dist/postgres.js on Node.
 *
 * @returns {Promise<any>} the module namespace (`PostgresBackend`)
 */
export async function loadSitqPostgres() {
  const entry = runtimeName() === "node"
    ? "../../dist/postgres.js"
    : "../../postgres.ts";
  return await import(new URL(entry, import.meta.url).href);
}

/**
 * Where a scenario's queue lives: a SQLite file at the bench's
 * `synchronous` level, or a database on the bench's PostgreSQL server.
 *
 * @typedef {{ kind: "sqlite", path: string, sync: string }
 *   | { kind: "postgres", url: string }} Store
 */

/**
 * The command-line flags that name `store` to a worker process.
 *
 * @param {Store} store
 * @returns {string[]}
 */
export function storeArgs(store) {
  return store.kind === "postgres"
    ? ["--pg-url", store.url]
    : ["--db", store.path, "--sync", store.sync];
}

/**
 * The store named by a process's flags (see {@link storeArgs}).
 *
 * @param {Record<string, string>} args
 * @returns {Store}
 */
export function storeFromArgs(args) {
  if (args["pg-url"]) return { kind: "postgres", url: args["pg-url"] };
  if (!args.db) throw new Error("--db or --pg-url is required");
  return { kind: "sqlite", path: args.db, sync: args.sync ?? "full" };
}

/**
 * Opens a backend and queue on `store` and registers the bench's tasks.
 *
 * @param {any} sitq the module from {@link loadSitq}
 * @param {Store} store
 * @param {any} [postgres] the module from {@link loadSitqPostgres}, for a
 *   PostgreSQL store
 */
export function openQueue(sitq, store, postgres) {
  const backend = store.kind === "postgres"
    ? new postgres.PostgresBackend(store.url)
    : new sitq.SQLiteBackend(store.path, { synchronous: store.sync });
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
