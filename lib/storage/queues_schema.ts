/**
 * Schema version 8, named queues, written once for both databases: each
 * database's migration list calls {@linkcode migrateQueues} with its
 * integer type for times.
 *
 * - `sitq_tasks.queue`: the queue a task belongs to, `'default'` for every
 *   task written before (the column's default fills them). The claim reads
 *   it as a row filter while it walks the claim index in priority order,
 *   as it reads `name`; no index of its own, so no write pays for one.
 * - `sitq_queues`: one row per queue with settings (paused, a global
 *   concurrency, a rate limit). A queue without a row has none. Tiny: the
 *   claim reads it in a subquery (`queries/claim_tasks.ts`).
 * - `sitq_queue_starts`: the starts of claims of rate-limited queues within
 *   their current window, for an exact sliding window: one row per claim
 *   (its `starts` tasks, all at its time), numbered by the queue's running
 *   total of starts (`seq`, the total after the row), its time never
 *   before the newest row's. The starts within a window are then the
 *   newest total minus the total before the window's first row: two index
 *   probes whatever the rate. Older rows are deleted by the claims. Only
 *   claims of a rate-limited queue write here.
 *
 * Frozen once released, like every migration.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { SitqSchema } from "./schema.ts";

/** `sitq_queues` (schema v8): a queue's settings; no row: none. */
export interface QueuesTable {
  /** The queue's name. */
  name: string;
  /** 1: workers claim nothing from it. */
  paused: number;
  /** At most this many of its tasks running at once, or null. */
  concurrency: number | null;
  /** At most this many starts per `rate_interval_ms`, or null. */
  rate_limit: number | null;
  /** The rate limit's window in ms (set with `rate_limit`). */
  rate_interval_ms: number | null;
  /** Epoch ms of the last change. */
  updated_at: number;
}

/** `sitq_queue_starts` (schema v8): one row per start in a rate window. */
export interface QueueStartsTable {
  /** The rate-limited queue. */
  queue: string;
  /** Epoch ms the claim started the task (never before the newest's). */
  started_at: number;
  /** The queue's total of starts after this row's: the newest's + `starts`. */
  seq: number;
  /** How many tasks the claim started. */
  starts: number;
}

/**
 * Adds `sitq_tasks.queue` and creates `sitq_queues` and
 * `sitq_queue_starts`.
 *
 * @param db The migration's transaction.
 * @param timeType The type of the database's epoch-ms columns (`integer`
 *   on SQLite, `bigint` on PostgreSQL).
 */
export async function migrateQueues(
  db: Kysely<SitqSchema>,
  timeType: "integer" | "bigint",
): Promise<void> {
  await db.schema.alterTable("sitq_tasks")
    .addColumn("queue", "text", (c) => c.notNull().defaultTo("default"))
    .execute();
  await db.schema.createTable("sitq_queues")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("concurrency", timeType)
    .addColumn("rate_limit", timeType)
    .addColumn("rate_interval_ms", timeType)
    .addColumn("updated_at", timeType, (c) => c.notNull())
    .execute();
  await db.schema.createTable("sitq_queue_starts")
    .addColumn("queue", "text", (c) => c.notNull())
    .addColumn("started_at", timeType, (c) => c.notNull())
    .addColumn("seq", timeType, (c) => c.notNull())
    .addColumn("starts", "integer", (c) => c.notNull())
    .execute();
  // Times and totals grow together, so this order is also total order;
  // covering, so the probes read the index alone.
  await db.schema.createIndex("sitq_queue_starts_queue")
    .on("sitq_queue_starts").columns(["queue", "started_at", "seq", "starts"])
    .execute();
}
