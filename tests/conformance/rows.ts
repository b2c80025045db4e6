/**
 * Builders for what the suite sends to a backend (tasks, claims,
 * settlements), so each test names only what it is about; calls.ts makes
 * the calls. Times are on a fixed clock from {@linkcode T0}: the Backend API
 * takes every "now" as an argument, so no test sleeps or depends on the
 * machine's clock.
 *
 * @module
 */
import type {
  ClaimRequest,
  FencingToken,
  NewTaskRow,
  Settlement,
  TaskRow,
} from "../../lib/storage/backend.ts";

/** The suite's "now": 2030-01-01T00:00:00Z in epoch ms. */
export const T0: number = Date.UTC(2030, 0, 1);

/** A lease long enough never to lapse within a test unless it says so. */
export const LONG_LEASE = 3_600_000;

/** A task named "job" due at {@linkcode T0}, three attempts, with `fields`. */
export function newTask(fields: Partial<NewTaskRow> = {}): NewTaskRow {
  return {
    name: "job",
    args: "[]",
    priority: 0,
    runAt: T0,
    maxAttempts: 3,
    timeout: null,
    createdAt: T0,
    ...fields,
  };
}

/** `count` tasks like {@linkcode newTask}, the n-th with arguments `[n]`. */
export function tasks(
  count: number,
  fields: Partial<NewTaskRow> = {},
): NewTaskRow[] {
  return Array.from(
    { length: count },
    (_, n) => newTask({ args: `[${n}]`, ...fields }),
  );
}

/** Worker "w1" claiming "job" tasks at {@linkcode T0}, up to 10, long lease. */
export function claimRequest(fields: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    workerId: "w1",
    names: ["job"],
    limit: 10,
    now: T0,
    leaseDuration: LONG_LEASE,
    ...fields,
  };
}

/** The attempt's start and end for settlements: {@linkcode T0} and 5 ms on. */
export const SPAN = { startedAt: T0, finishedAt: T0 + 5 };

/** `token`'s attempt completed with `result`. */
export function completed(
  token: FencingToken,
  result: string | null = '"done"',
  span = SPAN,
): Settlement {
  return { ...token, ...span, outcome: "completed", result };
}

/** `token`'s attempt failed with `error`, to retry at `retryAt` (null: never). */
export function failed(
  token: FencingToken,
  retryAt: number | null,
  error: string = storedError("boom"),
  outcome: "failed" | "timed_out" = "failed",
): Settlement {
  return { ...token, ...SPAN, outcome, error, retryAt };
}

/** `token`'s attempt interrupted by a stopping worker. */
export function interrupted(
  token: FencingToken,
  error: string = storedError("stopping", "InterruptedError"),
): Settlement {
  return { ...token, ...SPAN, outcome: "interrupted", error };
}

/** A serialized StoredError, as the core writes one. */
export function storedError(message: string, name = "Error"): string {
  return JSON.stringify({ name, message });
}

/** Status counts of only the given statuses, for short expectations. */
export function counts(
  fields: Partial<Record<TaskRow["status"], number>>,
): Record<TaskRow["status"], number> {
  return {
    waiting: 0,
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    ...fields,
  };
}
