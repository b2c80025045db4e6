/**
 * The registry of running workers (schema v7, `workers_schema.ts`): a
 * worker's row written at its start, its heartbeat refreshed while it
 * runs, deleted at its stop, and the rows still alive read back.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { WorkerRow } from "../backend.ts";
import type { SitqSchema } from "../schema.ts";

/**
 * How long the row of a worker that stopped without removing it (a killed
 * process) is kept once its heartbeat stopped: a day, so an operator can
 * still see what died recently, while such rows cannot pile up for good.
 */
const DEAD_ROW_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Writes (or replaces) `worker`'s row, and deletes the rows of workers
 * whose heartbeat stopped more than a day before (see
 * {@linkcode DEAD_ROW_RETENTION_MS}); each start pays for that sweep, which
 * reads the few rows the table holds.
 */
export async function registerWorker(
  db: Kysely<SitqSchema>,
  worker: WorkerRow,
): Promise<void> {
  await db.deleteFrom("sitq_workers")
    .where("heartbeat_at", "<", worker.heartbeatAt - DEAD_ROW_RETENTION_MS)
    .execute();
  const row = {
    worker_id: worker.workerId,
    names: JSON.stringify(worker.names),
    host: worker.host,
    pid: worker.pid,
    started_at: worker.startedAt,
    heartbeat_at: worker.heartbeatAt,
  };
  await db.insertInto("sitq_workers").values(row)
    .onConflict((c) =>
      c.column("worker_id").doUpdateSet({
        names: row.names,
        host: row.host,
        pid: row.pid,
        started_at: row.started_at,
        heartbeat_at: row.heartbeat_at,
      })
    )
    .execute();
}

/** Sets `workerId`'s heartbeat to `now`; false when it has no row. */
export async function heartbeatWorker(
  db: Kysely<SitqSchema>,
  workerId: string,
  now: number,
): Promise<boolean> {
  const result = await db.updateTable("sitq_workers")
    .set({ heartbeat_at: now })
    .where("worker_id", "=", workerId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Deletes `workerId`'s row. */
export async function removeWorker(
  db: Kysely<SitqSchema>,
  workerId: string,
): Promise<void> {
  await db.deleteFrom("sitq_workers").where("worker_id", "=", workerId)
    .execute();
}

/** The rows whose heartbeat is at or after `now - staleAfter`, by id. */
export async function listWorkers(
  db: Kysely<SitqSchema>,
  now: number,
  staleAfter: number,
): Promise<WorkerRow[]> {
  const rows = await db.selectFrom("sitq_workers").selectAll()
    .where("heartbeat_at", ">=", now - staleAfter)
    .orderBy("worker_id").execute();
  // Number(): PostgreSQL's bigint columns may arrive as strings.
  return rows.map((row) => ({
    workerId: row.worker_id,
    names: parseNames(row.names),
    host: row.host,
    pid: Number(row.pid),
    startedAt: Number(row.started_at),
    heartbeatAt: Number(row.heartbeat_at),
  }));
}

/** The stored JSON array of names; anything else reads as none. */
function parseNames(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed)
      ? parsed.filter((name): name is string => typeof name === "string")
      : [];
  } catch {
    return [];
  }
}
