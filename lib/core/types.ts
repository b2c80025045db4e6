/**
 * The words and shapes shared by the queue, the worker and the storage.
 *
 * Terminology:
 * - task: a named, typed handler registered with `queue.task(name, handler)`
 *   (a `Task`, the definition); also one enqueued execution of it (a row in
 *   the database, the run), identified by a {@linkcode TaskId}. Where the
 *   two must be told apart, the stored run is a {@linkcode TaskRecord}, and
 *   what `getResult` says of it a {@linkcode TaskResult}.
 * - attempt: one try at a task by one worker; counts toward `maxAttempts`.
 * - lease: a claim with an expiry that a live worker renews while the handler
 *   runs; an expired lease makes the task claimable again.
 * - fencing token: which task, which worker, which attempt; every write about
 *   an attempt carries it and counts only while it still holds (the storage
 *   layer's `FencingToken`).
 * - settlement: how an attempt ended (completed; failed or timed out, with
 *   a retry time while attempts remain; interrupted), written with its
 *   fencing token.
 * - backend: the storage the core calls; driver: the runtime's SQLite binding.
 *
 * Times are milliseconds since the epoch in storage and `Date`s in the API.
 * Durations are milliseconds.
 *
 * @module
 */
import type { TASK_STATUSES } from "./statuses.ts";

/**
 * Where a task is in its life:
 * - `waiting`: it depends on other tasks (a workflow step) and waits until
 *   every one of them has completed; it is then `queued` in the same
 *   transaction as the last one's settlement;
 * - `queued`: waiting to be claimed, maybe not before `runAt` (a delay or a
 *   retry's backoff);
 * - `running`: claimed by a worker holding a lease;
 * - `completed`: its handler returned; the value is stored;
 * - `failed`: its last attempt threw (or it threw a `PermanentError`);
 * - `cancelled`: cancelled while waiting or queued, by a user or because a
 *   task it depends on failed or was cancelled.
 */
export type TaskStatus = typeof TASK_STATUSES[number];

/** Statuses a task never leaves on its own (listed as `FINAL_STATUSES`). */
export type FinalStatus = "completed" | "failed" | "cancelled";

/**
 * The id of an enqueued task. It is a plain number at run time; the type also
 * remembers the handler's result type so `waitForResult(id)` is typed.
 *
 * @typeParam Result The handler's resolved return type.
 */
export type TaskId<Result = unknown> = number & {
  /** Type-level only: never present at run time. */
  readonly __sitqResult?: Result;
};

/**
 * The result type an id carries: `ResultOf<TaskId<number>>` is `number`; for
 * a union of ids it is the union of their results, for a plain number
 * `unknown`.
 *
 * @typeParam Id A {@linkcode TaskId} type (or a union of them).
 */
export type ResultOf<Id> = Id extends TaskId<infer Result> ? Result : unknown;

/** An error as stored: what a handler threw, kept as plain data. */
export interface StoredError {
  /** The error's class name, e.g. `"TypeError"` or `"TaskTimeoutError"`. */
  name: string;
  /** The error's message. */
  message: string;
  /** The stack trace, when the thrown value had one. */
  stack?: string;
  /** The error's `code` property, when it had a string one. */
  code?: string;
}

/** How one attempt ended. */
export type AttemptOutcome =
  | "completed"
  | "failed"
  | "timed_out"
  | "interrupted"
  | "lost";

/** One attempt at a task, as kept in its history. */
export interface AttemptRecord {
  /** The attempt number, from 1. */
  attempt: number;
  /** The worker that made the attempt. */
  workerId: string;
  /** When the worker claimed the task. */
  startedAt: Date;
  /** When the attempt ended (for `lost`, when the expired lease was found). */
  finishedAt: Date;
  /** How it ended. */
  outcome: AttemptOutcome;
  /** What it threw, for every outcome but `completed`. */
  error?: StoredError;
}

/**
 * What `getResult` knows about a task: a state while it is unfinished, its
 * value or error once it is final. A `value` of `undefined` or `null` is a
 * real result, told apart from "not finished" by `status`.
 *
 * @typeParam Result The handler's resolved return type.
 */
export type TaskResult<Result = unknown> =
  | {
    status: "waiting";
    /** Attempts made so far (more than 0 only after a requeue). */
    attempts: number;
    /** How many of the tasks it depends on have not completed yet. */
    waitingFor: number;
  }
  | {
    status: "queued";
    /** Attempts made so far; more than 0 means it is waiting to retry. */
    attempts: number;
    /** When it becomes claimable. */
    runAt: Date;
    /** The error of the previous attempt, when it is waiting to retry. */
    lastError?: StoredError;
  }
  | {
    status: "running";
    /** The current attempt's number. */
    attempts: number;
    /** The worker running it. */
    workerId: string;
    /** The latest progress its handler reported in this attempt, if any. */
    progress?: unknown;
  }
  | {
    status: "completed";
    /** What the handler returned. */
    value: Result;
    /** Attempts it took. */
    attempts: number;
  }
  | {
    status: "failed";
    /** What the last attempt threw. */
    error: StoredError;
    /** Attempts made. */
    attempts: number;
  }
  | {
    status: "cancelled";
    attempts: number;
    /**
     * Why, when a task it depends on failed or was cancelled (code
     * `PARENT_FAILED` or `PARENT_CANCELLED`, the parent's id in the
     * message); absent when a user cancelled it.
     */
    reason?: StoredError;
  };

/** A {@linkcode TaskResult} that will not change any more. */
export type FinalTaskResult<Result = unknown> = Extract<
  TaskResult<Result>,
  { status: FinalStatus }
>;

/** A stored task with everything sitq knows about it. */
export interface TaskRecord {
  /** Its id. */
  id: TaskId;
  /** The task name it runs. */
  name: string;
  /** The queue it belongs to (`"default"` unless given). */
  queue: string;
  /** Where it is in its life. */
  status: TaskStatus;
  /** The handler's arguments, deserialized. */
  args: unknown[];
  /** Higher runs first. */
  priority: number;
  /** It is not claimed before this time. */
  runAt: Date;
  /** Attempts started so far. */
  attempts: number;
  /** Total attempts allowed. */
  maxAttempts: number;
  /** Per-attempt time limit in milliseconds, if any. */
  timeout?: number;
  /** When it was enqueued. */
  createdAt: Date;
  /** When its latest attempt started. */
  startedAt?: Date;
  /** When it reached a final status. */
  finishedAt?: Date;
  /** The worker running it, or that ran it last. */
  workerId?: string;
  /** When the running worker's lease expires. */
  leaseExpiresAt?: Date;
  /** The latest progress its handler reported. */
  progress?: unknown;
  /** Its unique key, if it was enqueued with one (`RunOptions.uniqueKey`). */
  uniqueKey?: string;
  /**
   * Milliseconds after completing that it keeps holding its key, if it was
   * enqueued with a window (`RunOptions.uniqueFor`).
   */
  uniqueFor?: number;
  /**
   * The task whose failure or cancellation cancelled this one (it is
   * `cancelled` with a `reason`); requeueing that task brings this one back.
   */
  cancelledBy?: TaskId;
  /** Its result as `getResult` reports it. */
  result: TaskResult;
  /** Every finished attempt, oldest first. */
  history: AttemptRecord[];
}

/** Counts of tasks per status; every status is present, zeros included. */
export type QueueStats = Record<TaskStatus, number>;

/** A source of the current time, injectable so tests need not sleep. */
export interface Clock {
  /** The current time in milliseconds since the epoch. */
  now(): number;
}

/** The clock sitq uses unless given another: `Date.now()`. */
export const systemClock: Clock = { now: () => Date.now() };
