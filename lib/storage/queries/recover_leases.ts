/**
 * Recover: running tasks whose lease expired (their worker crashed, froze
 * or lost the database) become claimable again, or `failed` when that was
 * their last attempt; each lost attempt is recorded in the history with
 * outcome `lost`.
 *
 * Parameters: `now` (epoch ms), the JSON `StoredError` to record, and the
 * caller's write transaction. Guard: `status = 'running'` and a lease that
 * expired before `now`. The attempt count is kept, so the lost attempt
 * counts; the worker that held it now holds a stale fencing token.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type { TaskStatus } from "../../core/types.ts";
import { QUEUED, RUNNING, type SitqSchema } from "../schema.ts";

/**
 * Whether any running task's lease expired before `now`: one read through
 * the lease index, so that a poll with nothing to recover (nearly every
 * poll) opens no write transaction (on SQLite no write lock; on PostgreSQL
 * one round trip instead of a transaction's several).
 */
export async function anyExpiredLease(
  db: Kysely<SitqSchema>,
  now: number,
): Promise<boolean> {
  const row = await db.selectFrom("sitq_tasks").select("id")
    .where("status", "=", RUNNING)
    .where("lease_expires_at", "<", now)
    // A literal limit: SQLite plans `limit ?` slower (see release_dependents.ts).
    .limit(sql.lit(1))
    .executeTakeFirst();
  return row !== undefined;
}

/** Recovers expired leases; returns the ids of the tasks recovered. */
export async function recoverExpiredLeases(
  trx: Kysely<SitqSchema>,
  now: number,
  error: string,
): Promise<number[]> {
  const rows = await trx.updateTable("sitq_tasks")
    .set((eb) => ({
      status: eb.case().when("attempts", ">=", eb.ref("max_attempts"))
        .then(sql.lit<TaskStatus>("failed")).else(QUEUED).end(),
      finished_at: eb.case()
        .when("attempts", ">=", eb.ref("max_attempts")).then(now)
        .else(null).end(),
      lease_expires_at: null,
      error,
    }))
    .where("status", "=", RUNNING)
    .where("lease_expires_at", "<", now)
    .returning(["id", "attempts", "worker_id", "started_at"])
    .execute();
  for (const row of rows) {
    await trx.insertInto("sitq_attempts").values({
      task_id: row.id,
      attempt: row.attempts,
      worker_id: row.worker_id ?? "unknown",
      started_at: row.started_at ?? now,
      finished_at: now,
      outcome: "lost",
      error,
    }).execute();
  }
  return rows.map((row) => Number(row.id));
}
