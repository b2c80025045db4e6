/**
 * Opens the SQLite driver of the runtime running this file, behind the
 * smallest interface the floor workloads need. All three drivers are
 * synchronous and accept positional parameters spread as arguments (the one
 * calling form node:sqlite accepts), so statements are used as they come.
 *
 * @module
 */
import { importAsProject } from "../common/project_import.js";
import { runtimeName } from "../common/runtime.js";

/**
 * @typedef {object} FloorStatement
 * @property {(...params: unknown[]) => unknown} run
 * @property {(...params: unknown[]) => any} get
 *   No row is `null` on bun:sqlite and `undefined` elsewhere: test with `== null`.
 * @property {(...params: unknown[]) => any[]} all
 */

/**
 * @typedef {object} FloorDatabase
 * @property {string} driver "bun:sqlite", "node:sqlite" or "better-sqlite3"
 * @property {(sql: string) => void} exec
 * @property {(sql: string) => FloorStatement} prepare
 * @property {() => void} close
 */

/**
 * Opens (creating if needed) a database file with the runtime's driver:
 * bun:sqlite on Bun, node:sqlite on Deno, and on Node node:sqlite when the
 * Node version has it, else better-sqlite3 (Node 20) as the project root
 * resolves it.
 *
 * @param {string} path
 * @returns {Promise<FloorDatabase>}
 */
export async function openFloorDatabase(path) {
  switch (runtimeName()) {
    case "bun":
      return await openBun(path);
    case "deno":
      return await openNodeSqlite(path);
    default:
      try {
        return await openNodeSqlite(path);
      } catch (error) {
        // Node 20 has no node:sqlite (ERR_UNKNOWN_BUILTIN_MODULE).
        if (!isMissingModule(error)) throw error;
        return await openBetterSqlite3(path);
      }
  }
}

// Specifiers sit in variables so that no runtime (or bundler, or type
// checker) tries to resolve a module that only another runtime has.
const BUN_SQLITE = "bun:sqlite";
const NODE_SQLITE = "node:sqlite";
const BETTER_SQLITE3 = "better-sqlite3";

/** @param {string} path */
async function openBun(path) {
  const { Database } = await import(BUN_SQLITE);
  const db = new Database(path, { create: true });
  return wrap("bun:sqlite", db);
}

/** @param {string} path */
async function openNodeSqlite(path) {
  const { DatabaseSync } = await import(NODE_SQLITE);
  return wrap("node:sqlite", new DatabaseSync(path));
}

/** @param {string} path */
async function openBetterSqlite3(path) {
  // The same build sitq's own Node users get, not bench's pinned copy.
  const { default: Database } = await importAsProject(BETTER_SQLITE3);
  return wrap("better-sqlite3", new Database(path));
}

/**
 * @param {string} driver
 * @param {any} db a driver's database object
 * @returns {FloorDatabase}
 */
function wrap(driver, db) {
  let open = true;
  return {
    driver,
    exec: (sql) => db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    // node:sqlite throws on a second close; the others ignore it.
    close: () => {
      if (open) db.close();
      open = false;
    },
  };
}

/** @param {unknown} error */
function isMissingModule(error) {
  const code = /** @type {{ code?: string }} */ (error)?.code;
  return code === "ERR_UNKNOWN_BUILTIN_MODULE" ||
    code === "ERR_MODULE_NOT_FOUND";
}
