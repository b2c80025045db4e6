/**
 * Turning stored rows into the public result and record types: a
 * {@linkcode TaskRow} into a {@linkcode TaskResult} or
 * {@linkcode TaskRecord}, count rows into {@linkcode QueueStats}. Rows are
 * storage-shaped (serialized text, epoch milliseconds, `null` for absent);
 * what users read has `Date`s, deserialized values and absent fields left
 * out. Pure: no I/O, the serializer is given.
 *
 * @module
 */
import { parseStoredError } from "../core/stored_error.ts";
import { decodeResult, type Serializer } from "../core/serializer.ts";
import { isFinalStatus, TASK_STATUSES } from "../core/statuses.ts";
import type {
  AttemptRecord,
  FinalTaskResult,
  QueueStats,
  TaskId,
  TaskRecord,
  TaskResult,
  TaskStatus,
} from "../core/types.ts";
import type {
  AttemptRow,
  NameStatusCount,
  TaskRow,
} from "../storage/backend.ts";

/** One page of {@linkcode TaskQueue.listTasks}. */
export interface TaskPage {
  /** Tasks, newest first. */
  tasks: TaskRecord[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** The {@linkcode TaskResult} a row describes. */
export function rowToResult<Result>(
  row: TaskRow,
  serializer: Serializer,
): TaskResult<Result> {
  switch (row.status) {
    case "waiting":
      return {
        status: "waiting",
        attempts: row.attempts,
        waitingFor: row.pending_parents,
      };
    case "queued": {
      const result: TaskResult<Result> = {
        status: "queued",
        attempts: row.attempts,
        runAt: new Date(row.run_at),
      };
      const lastError = parseStoredError(row.error);
      if (lastError !== undefined) result.lastError = lastError;
      return result;
    }
    case "running": {
      const result: TaskResult<Result> = {
        status: "running",
        attempts: row.attempts,
        workerId: row.worker_id ?? "",
      };
      if (row.progress !== null) {
        result.progress = serializer.deserialize(row.progress);
      }
      return result;
    }
    case "completed":
      return {
        status: "completed",
        value: decodeResult(serializer, row.result) as Result,
        attempts: row.attempts,
      };
    case "failed":
      return {
        status: "failed",
        error: parseStoredError(row.error) ??
          { name: "Error", message: "unknown error" },
        attempts: row.attempts,
      };
    case "cancelled": {
      const result: TaskResult<Result> = {
        status: "cancelled",
        attempts: row.attempts,
      };
      // Set only by a parent's failure or cancellation (schema v6).
      const reason = row.cancelled_by == null
        ? undefined
        : parseStoredError(row.error);
      if (reason !== undefined) result.reason = reason;
      return result;
    }
  }
}

function optionalDate(ms: number | null): Date | undefined {
  return ms === null ? undefined : new Date(ms);
}

/** The {@linkcode AttemptRecord} a history row describes. */
export function rowToAttempt(row: AttemptRow): AttemptRecord {
  const record: AttemptRecord = {
    attempt: row.attempt,
    workerId: row.worker_id,
    startedAt: new Date(row.started_at),
    finishedAt: new Date(row.finished_at),
    outcome: row.outcome,
  };
  const error = parseStoredError(row.error);
  if (error !== undefined) record.error = error;
  return record;
}

/** The {@linkcode TaskRecord} a row and its history describe. */
export function rowToRecord(
  row: TaskRow,
  history: AttemptRow[],
  serializer: Serializer,
): TaskRecord {
  const record: TaskRecord = {
    id: row.id as TaskId,
    name: row.name,
    queue: row.queue,
    status: row.status,
    args: serializer.deserialize(row.args) as unknown[],
    priority: row.priority,
    runAt: new Date(row.run_at),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    createdAt: new Date(row.created_at),
    result: rowToResult(row, serializer),
    history: history.map(rowToAttempt),
  };
  if (row.timeout_ms !== null) record.timeout = row.timeout_ms;
  const startedAt = optionalDate(row.started_at);
  if (startedAt) record.startedAt = startedAt;
  const finishedAt = optionalDate(row.finished_at);
  if (finishedAt) record.finishedAt = finishedAt;
  if (row.worker_id !== null) record.workerId = row.worker_id;
  const leaseExpiresAt = optionalDate(row.lease_expires_at);
  if (leaseExpiresAt && row.status === "running") {
    record.leaseExpiresAt = leaseExpiresAt;
  }
  if (row.progress !== null) {
    record.progress = serializer.deserialize(row.progress);
  }
  // Absent on rows of a backend that predates unique keys.
  if (row.unique_key != null) record.uniqueKey = row.unique_key;
  if (row.unique_for != null) record.uniqueFor = row.unique_for;
  if (row.cancelled_by != null) {
    record.cancelledBy = row.cancelled_by as TaskId;
  }
  return record;
}

/** Whether `result` is final: completed, failed or cancelled. */
export function isFinalResult<Result>(
  result: TaskResult<Result>,
): result is FinalTaskResult<Result> {
  return isFinalStatus(result.status);
}

/**
 * {@linkcode QueueStats} from per-status counts: every status present, in
 * the order of `TASK_STATUSES`, 0 where `counts` has none.
 */
export function toQueueStats(
  counts: Partial<Record<TaskStatus, number>> = {},
): QueueStats {
  const stats = {} as QueueStats;
  for (const status of TASK_STATUSES) stats[status] = counts[status] ?? 0;
  return stats;
}

/**
 * Per-name {@linkcode QueueStats} from per-name-and-status counts, names in
 * the order they come (the backend orders them by name). A Map, not an
 * object: a task may be named "__proto__".
 */
export function toStatsByName(
  counts: readonly NameStatusCount[],
): Map<string, QueueStats> {
  const byName = new Map<string, QueueStats>();
  for (const { name, status, count } of counts) {
    let stats = byName.get(name);
    if (stats === undefined) {
      stats = toQueueStats();
      byName.set(name, stats);
    }
    stats[status] = count;
  }
  return byName;
}
