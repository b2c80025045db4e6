/**
 * Schema version 6, dependencies between tasks (workflows), written once
 * for both databases: each database's migration list calls
 * {@linkcode migrateDependencies} with its integer type for ids.
 *
 * - `sitq_tasks.pending_parents`: how many of the task's edges still hold
 *   it back. Settling a parent decrements its children's counters in one
 *   `UPDATE`; on PostgreSQL that update takes each child's row lock, so two
 *   parents completing in two transactions at once are serialized on the
 *   child, and exactly one of them sees the counter reach 0 and queues it.
 *   A "do all parents look completed?" read instead would let both miss
 *   the other's uncommitted completion under READ COMMITTED.
 * - `sitq_tasks.cancelled_by`: the parent whose failure or cancellation
 *   cancelled the task (null otherwise), so that requeueing that parent
 *   knows which tasks to bring back.
 * - `sitq_dependencies`: the edges, keyed by child then parent (a child
 *   reads its parents' results in order), with an index by parent for the
 *   settlement's "who waits for these?".
 *
 * Frozen once released, like every migration.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { SitqSchema } from "./schema.ts";

/**
 * Adds the dependency columns and table.
 *
 * @param db The migration's transaction.
 * @param idType The type of the database's ids (`integer` on SQLite,
 *   `bigint` on PostgreSQL).
 */
export async function migrateDependencies(
  db: Kysely<SitqSchema>,
  idType: "integer" | "bigint",
): Promise<void> {
  await db.schema.alterTable("sitq_tasks")
    .addColumn(
      "pending_parents",
      "integer",
      (c) => c.notNull().defaultTo(0),
    )
    .execute();
  await db.schema.alterTable("sitq_tasks").addColumn("cancelled_by", idType)
    .execute();
  await db.schema.createTable("sitq_dependencies")
    .addColumn("child_id", idType, (c) => c.notNull())
    .addColumn("parent_id", idType, (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    .addColumn("run_anyway", "integer", (c) => c.notNull())
    .addColumn("satisfied", "integer", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("sitq_dependencies_pk", [
      "child_id",
      "parent_id",
    ])
    .execute();
  await db.schema.createIndex("sitq_dependencies_parent")
    .on("sitq_dependencies").columns(["parent_id", "satisfied"]).execute();
}
