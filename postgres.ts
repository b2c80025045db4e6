/**
 * `sitq/postgres`: {@linkcode PostgresBackend}, sitq on PostgreSQL, for when
 * one machine is no longer enough: workers on many hosts share one queue
 * in a schema of your database, with the same `TaskQueue` and `Worker` as
 * on SQLite.
 *
 * It needs node-postgres as a peer dependency (`npm install pg`; Deno:
 * `deno add npm:pg`), loaded only when a `PostgresBackend` first opens, so
 * `sitq` itself never requires it.
 *
 * What differs from SQLite:
 * - **Connection.** A URL (sitq opens a pool of `maxConnections`) or your
 *   own `pg.Pool` (borrowed, never ended by sitq). One more connection per
 *   backend LISTENs for other processes' writes.
 * - **Schema.** Tables live in the schema named by `schema` (default
 *   `"sitq"`), created and migrated on first open under an advisory lock.
 * - **Wake-ups.** Writes send `NOTIFY` inside their transaction, so idle
 *   workers anywhere wake within milliseconds; polling stays the safety
 *   net, and takes over while LISTEN is down.
 * - **Durability.** Inserts and settlements commit at the server's
 *   `synchronous_commit`; claims, lease renewals and progress with it off
 *   for their own transaction: losing one in a server crash only makes a
 *   task claimable again.
 *
 * @example
 * ```ts
 * import { TaskQueue } from "sitq";
 * import { PostgresBackend } from "sitq/postgres";
 *
 * const backend = new PostgresBackend("postgres://app@127.0.0.1:5432/app", {
 *   schema: "jobs",
 * });
 * console.log(backend.description); // "PostgreSQL 127.0.0.1:5432/app (schema jobs)"
 * const queue = new TaskQueue(backend); // nothing connects until first use
 * await queue.close();
 * ```
 *
 * @module
 */
export {
  PostgresBackend,
  type PostgresBackendOptions,
  type PostgresPool,
} from "./lib/storage/postgres/postgres_backend.ts";
