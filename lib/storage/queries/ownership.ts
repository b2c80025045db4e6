/**
 * The fencing rule, written once. A write about an attempt (its settlement,
 * a lease renewal, progress) counts only while the task is still `running`
 * under the worker and the attempt number its {@linkcode FencingToken}
 * names. A worker whose lease lapsed and whose task another worker
 * re-claimed, or whose attempt was already settled or recovered, holds a
 * stale token: its write matches no row and changes nothing.
 *
 * @module
 */
import { type Expression, sql, type SqlBool } from "kysely";
import type { FencingToken } from "../backend.ts";
import { RUNNING } from "../schema.ts";

/**
 * What {@linkcode whereOwned} compares a row with: a token's values, or
 * expressions that give them (the columns of a `VALUES` list that an
 * `UPDATE ... FROM` joins, one token per row).
 */
export interface OwnerOperands {
  id: number | Expression<unknown>;
  workerId: string | Expression<unknown>;
  attempt: number | Expression<unknown>;
}

/**
 * The `WHERE` condition that a task row is still owned by `token`:
 * `id = token.id AND status = 'running' AND worker_id = token.workerId AND
 * attempts = token.attempt` (the row's `attempts` counts the attempt now
 * running, so it names the attempt). The values may be placeholders of a
 * prepared statement, or expressions ({@linkcode OwnerOperands}); the
 * columns are qualified by `sitq_tasks`, so that the condition also holds
 * in a statement that joins another table with the same column names.
 *
 * @example
 * ```ts ignore
 * await trx.updateTable("sitq_tasks").set({ progress }).where(whereOwned(token))
 *   .executeTakeFirst();
 * ```
 */
export function whereOwned(
  token: FencingToken | OwnerOperands,
): Expression<SqlBool> {
  const terms = [
    sql`${sql.ref("sitq_tasks.id")} = ${token.id}`,
    sql`${sql.ref("sitq_tasks.status")} = ${RUNNING}`,
    sql`${sql.ref("sitq_tasks.worker_id")} = ${token.workerId}`,
    sql`${sql.ref("sitq_tasks.attempts")} = ${token.attempt}`,
  ];
  // Parenthesised: Kysely writes raw SQL as it is, beside any other term.
  return sql<SqlBool>`(${sql.join(terms, sql` and `)})`;
}
