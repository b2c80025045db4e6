/**
 * Who is running, and what no one runs: the queue's reads of the registry
 * of running workers (`sitq_workers`, schema v7), where every started
 * worker, in any process on the same database, keeps a row while it runs.
 * `queue.workers()` and `queue.unhandledTasks()` come here.
 *
 * @module
 */
import { checkInteger } from "../core/validate.ts";
import type { Clock } from "../core/types.ts";
import type { Backend } from "../storage/backend.ts";

/**
 * How old (ms) a worker's last heartbeat may be for it to count as alive,
 * by default: three heartbeats at the default heartbeat interval (10 s,
 * a third of the default 30 s lease).
 */
export const DEFAULT_STALE_AFTER = 30_000;

/** A running worker, as {@linkcode TaskQueue.workers} reports it. */
export interface WorkerInfo {
  /** The worker's id (`WorkerOptions.workerId`). */
  id: string;
  /** The task names it handles. */
  names: readonly string[];
  /** The host name of its process ("" where its runtime would not tell). */
  host: string;
  /** Its process id (0 where its runtime has none). */
  pid: number;
  /** When it started. */
  startedAt: Date;
  /** Its last heartbeat (workers beat every `heartbeatInterval` ms). */
  heartbeatAt: Date;
}

/** Options of {@linkcode TaskQueue.workers} and {@linkcode TaskQueue.unhandledTasks}. */
export interface WorkersOptions {
  /**
   * Milliseconds after its last heartbeat when a worker counts as dead (a
   * killed process leaves its row behind). Raise it for workers whose
   * `heartbeatInterval` is longer than a third of it.
   *
   * @default {30000}
   */
  staleAfter?: number;
}

/** Queued tasks of one name that no live worker handles. */
export interface UnhandledTaskCount {
  /** The task name. */
  name: string;
  /** How many of its queued tasks are due now (run time reached). */
  due: number;
  /** How many are queued for later (delayed or retrying). */
  later: number;
}

/** The live workers, ordered by id. */
export async function readWorkers(
  backend: Backend,
  clock: Clock,
  options: WorkersOptions,
  action: string,
): Promise<WorkerInfo[]> {
  const staleAfter = options.staleAfter ?? DEFAULT_STALE_AFTER;
  checkInteger(staleAfter, action, "options.staleAfter", 1);
  const rows = await backend.listWorkers(clock.now(), staleAfter);
  return rows.map((row) => ({
    id: row.workerId,
    names: row.names,
    host: row.host,
    pid: row.pid,
    startedAt: new Date(row.startedAt),
    heartbeatAt: new Date(row.heartbeatAt),
  }));
}

/**
 * Per task name, the queued tasks whose name no live worker handles,
 * ordered by name; names with none are absent.
 */
export async function countUnhandled(
  backend: Backend,
  clock: Clock,
  options: WorkersOptions,
  action: string,
): Promise<UnhandledTaskCount[]> {
  const workers = await readWorkers(backend, clock, options, action);
  const handled = new Set(workers.flatMap((worker) => worker.names));
  const queued = new Map<string, number>();
  let total = 0;
  for (const { name, status, count } of await backend.countByName()) {
    if (status !== "queued" || count === 0 || handled.has(name)) continue;
    queued.set(name, count);
    total += count;
  }
  if (total === 0) return [];
  // A limit of every queued unhandled task makes the due counts exact.
  const due = new Map(
    (await backend.countDueExcept({
      names: [...handled],
      now: clock.now(),
      limit: total,
    })).map(({ name, count }) => [name, count]),
  );
  return [...queued].map(([name, count]) => {
    // A task enqueued between the two reads may be counted due only.
    const dueCount = Math.min(due.get(name) ?? 0, count);
    return { name, due: dueCount, later: count - dueCount };
  });
}
