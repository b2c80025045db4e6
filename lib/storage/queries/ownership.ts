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
import type { Expression, ExpressionBuilder, SqlBool } from "kysely";
import type { FencingToken } from "../backend.ts";
import { RUNNING, type SitqSchema } from "../schema.ts";

/**
 * The `WHERE` condition that a task row is still owned by `token`:
 * `id = token.id AND status = 'running' AND worker_id = token.workerId AND
 * attempts = token.attempt` (the row's `attempts` counts the attempt now
 * running, so it names the attempt). The values may be placeholders of a
 * prepared statement.
 *
 * @example
 * ```ts ignore
 * await trx.updateTable("sitq_tasks").set({ progress }).where(whereOwned(token))
 *   .executeTakeFirst();
 * ```
 */
export function whereOwned(
  token: FencingToken,
): (eb: ExpressionBuilder<SitqSchema, "sitq_tasks">) => Expression<SqlBool> {
  return (eb) =>
    eb.and([
      eb("id", "=", token.id),
      eb("status", "=", RUNNING),
      eb("worker_id", "=", token.workerId),
      eb("attempts", "=", token.attempt),
    ]);
}
