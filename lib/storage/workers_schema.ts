/**
 * Schema version 7, the registry of running workers, written once for
 * both databases: each database's migration list calls
 * {@linkcode migrateWorkers} with its integer type for times.
 *
 * `sitq_workers` holds one row per started worker: it is written when the
 * worker starts, its `heartbeat_at` refreshed on the worker's heartbeat
 * interval (idle or not), and deleted when the worker stops. A killed
 * process leaves its row behind; readers count a row whose heartbeat is
 * older than their `staleAfter` as dead, so no cleanup has to run for the
 * answer to be right. `names` is the JSON array of the task names the
 * worker handles: only read whole, never searched in SQL.
 *
 * Frozen once released, like every migration.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { SitqSchema } from "./schema.ts";

/** `sitq_workers` (schema v7): one row per running (or killed) worker. */
export interface WorkersTable {
  /** The worker's id (`WorkerOptions.workerId`). */
  worker_id: string;
  /** The task names it handles, as a JSON array of strings. */
  names: string;
  /** The host name of its process, or "" where the runtime cannot tell. */
  host: string;
  /** Its process id, or 0 where the runtime has none. */
  pid: number;
  /** Epoch ms when it started. */
  started_at: number;
  /** Epoch ms of its last heartbeat. */
  heartbeat_at: number;
}

/**
 * Creates `sitq_workers`.
 *
 * @param db The migration's transaction.
 * @param timeType The type of the database's epoch-ms columns (`integer`
 *   on SQLite, `bigint` on PostgreSQL).
 */
export async function migrateWorkers(
  db: Kysely<SitqSchema>,
  timeType: "integer" | "bigint",
): Promise<void> {
  await db.schema.createTable("sitq_workers")
    .addColumn("worker_id", "text", (c) => c.primaryKey())
    .addColumn("names", "text", (c) => c.notNull())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("pid", "integer", (c) => c.notNull())
    .addColumn("started_at", timeType, (c) => c.notNull())
    .addColumn("heartbeat_at", timeType, (c) => c.notNull())
    .execute();
}
