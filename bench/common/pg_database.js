/**
 * node-postgres for the PostgreSQL section's children, and a fresh database
 * per measurement on the bench's private server, so every run starts from
 * empty tables and leaves nothing behind.
 *
 * @module
 */
import process from "node:process";
import { importAsProject } from "./project_import.js";

const PG = "pg";

/**
 * Loads `pg` as sitq resolves it (the repository's node_modules), else
 * bench/'s copy: the floor uses the same driver build as sitq.
 *
 * @returns {Promise<any>} the module's default export (`Pool`, `Client`, ...)
 * @throws {Error} when neither has it
 */
export async function loadPg() {
  const module = await importAsProject(PG);
  return module.default ?? module;
}

/**
 * Creates a database with a unique name, runs `fn` with its URL, then drops
 * it (closing any connection a peer left open).
 *
 * @template T
 * @param {string} serverUrl the server's `postgres://.../postgres` URL
 * @param {(url: string) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withPgDatabase(serverUrl, fn) {
  const pg = await loadPg();
  const name = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = async (/** @type {string} */ sql) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return await fn(url.href);
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
