/**
 * Turning stored rows into the public result and record types.
 *
 * @module
 */
import type { AttemptRow, TaskRow } from "../storage/backend.ts";
import type { Serializer } from "./serializer.ts";
import { parseStoredError } from "./stored_error.ts";
import type {
  AttemptRecord,
  StoredError,
  TaskId,
  TaskRecord,
  TaskResult,
} from "./types.ts";

/** The {@linkcode TaskResult} a row describes. */
export function rowToResult<Result>(
  row: TaskRow,
  serializer: Serializer,
): TaskResult<Result> {
  switch (row.status) {
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
    case "running":
      return {
        status: "running",
        attempts: row.attempts,
        workerId: row.worker_id ?? "",
      };
    case "completed":
      return {
        status: "completed",
        value: serializer.deserialize(row.result ?? "") as Result,
        attempts: row.attempts,
      };
    case "failed":
      return {
        status: "failed",
        error: parseStoredError(row.error) ??
          { name: "Error", message: "unknown error" },
        attempts: row.attempts,
      };
    case "cancelled":
      return { status: "cancelled", attempts: row.attempts };
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
  return record;
}
