/**
 * Writing outcomes: decided attempts wait here until the claim loop's next
 * step writes them all in one transaction, together with its next claim
 * (`settleAndClaim`), so a busy worker pays one commit per batch, not two
 * per task. Once written, each outcome becomes what users see: stats, a log
 * line and an event (`completed`, `failed`, `retrying`).
 *
 * A write that fails leaves its outcomes waiting, ahead of those decided
 * meanwhile, for the next step to try again; their attempts stay held, so
 * the lease keeper keeps renewing them. The backend applies each outcome
 * only while its fencing token holds, and says which it applied: an outcome
 * it refused (the lease was lost) is logged and nothing else.
 *
 * @module
 */
import type { TypedEmitter } from "../core/events.ts";
import type { LogData, Logger } from "../core/logger.ts";
import { parseStoredError } from "../core/stored_error.ts";
import type { Clock, StoredError, TaskId } from "../core/types.ts";
import type {
  ClaimedTask,
  ClaimRequest,
  SettleAndClaimResult,
  Settlement,
} from "../storage/backend.ts";
import type { Attempt, Outcome } from "./executor.ts";
import type { TaskEventBase, WorkerEvents } from "./types.ts";

/** An attempt's decided outcome, waiting to be written. */
interface PendingOutcome {
  attempt: Attempt;
  settlement: Settlement;
  /** The handler's value (for `completed`) or thrown error (for the log). */
  value: unknown;
}

/**
 * Writes settlements and claims in one transaction; `applied[i]` says
 * whether `settlements[i]` was written (its token still held).
 */
export type SettleAndClaim = (
  settlements: readonly Settlement[],
  claim: ClaimRequest | undefined,
) => Promise<SettleAndClaimResult>;

/** What the completer needs from the worker around it. */
export interface CompleterOptions {
  /** The worker's id, for settlements and log lines. */
  workerId: string;
  /** Stamps `finishedAt`. */
  clock: Clock;
  /** Where written outcomes are logged. */
  logger: Logger;
  /** Where written outcomes are announced. */
  events: TypedEmitter<WorkerEvents>;
  /** The one storage call this part makes. */
  settleAndClaim: SettleAndClaim;
  /** Lets go of an attempt whose outcome is written. */
  forget(attempt: Attempt): void;
}

/** What the worker counts, from its written outcomes. */
export interface OutcomeCounters {
  /** Attempts completed. */
  completed: number;
  /** Tasks failed for good. */
  failed: number;
  /** Failed attempts that will be retried. */
  retried: number;
  /** Sum of the counted attempts' durations, in ms. */
  durationTotal: number;
}

/** Batches decided outcomes into settlements and reports them once written. */
export class Completer {
  /** Counts of written outcomes since the worker was built. */
  readonly counters: OutcomeCounters = {
    completed: 0,
    failed: 0,
    retried: 0,
    durationTotal: 0,
  };
  readonly #options: CompleterOptions;
  #pending: PendingOutcome[] = [];

  /** @param options The worker's parts this one calls. */
  constructor(options: CompleterOptions) {
    this.#options = options;
  }

  /** How many outcomes wait to be written. */
  get size(): number {
    return this.#pending.length;
  }

  /** Queues an attempt's outcome for the next write. */
  add(attempt: Attempt, outcome: Outcome, value: unknown): void {
    const settlement = {
      id: attempt.claimed.id,
      attempt: attempt.claimed.attempt,
      workerId: this.#options.workerId,
      startedAt: attempt.startedAt,
      finishedAt: this.#options.clock.now(),
      ...outcome,
    } as Settlement;
    this.#pending.push({ attempt, settlement, value });
  }

  /**
   * The `nextRunAt` of the last write that claimed: when the next queued
   * task of this worker's names comes due (undefined: none, or unknown).
   */
  nextRunAt: number | undefined;

  /**
   * Writes every waiting outcome (and claims, if asked) in one transaction
   * and reports the written ones; returns the claimed tasks, and keeps the
   * backend's `nextRunAt` in {@linkcode Completer.nextRunAt}. On failure
   * the outcomes wait for the next try and the error is thrown.
   */
  async write(claim?: ClaimRequest): Promise<ClaimedTask[]> {
    const batch = this.#pending;
    this.#pending = [];
    let result: Awaited<ReturnType<SettleAndClaim>>;
    try {
      result = await this.#options.settleAndClaim(
        batch.map((entry) => entry.settlement),
        claim,
      );
    } catch (error) {
      this.#pending = batch.concat(this.#pending);
      throw error;
    }
    if (claim !== undefined) this.nextRunAt = result.nextRunAt;
    batch.forEach((entry, index) => {
      this.#options.forget(entry.attempt);
      this.#report(entry, result.applied[index] ?? false);
    });
    return result.claimed;
  }

  /**
   * Drops the waiting outcome of task `id`, which this worker has just
   * claimed again: after a requeue (attempts reset) it could otherwise
   * match the new claim's token. See `LeaseKeeper.supersede`.
   */
  dropSuperseded(id: number): void {
    // Runs for every claimed task: usually nothing is pending by now.
    if (!this.#pending.some((entry) => entry.attempt.claimed.id === id)) return;
    const kept: PendingOutcome[] = [];
    for (const entry of this.#pending) {
      if (entry.attempt.claimed.id !== id) {
        kept.push(entry);
        continue;
      }
      this.#options.logger.warn?.(
        {
          workerId: this.#options.workerId,
          taskId: id,
          taskName: entry.attempt.claimed.name,
          attempt: entry.settlement.attempt,
        },
        "dropped the unwritten outcome of an attempt superseded by a new claim",
      );
    }
    this.#pending = kept;
  }

  /** Forgets every waiting outcome (the worker gives up writing). */
  clear(): void {
    this.#pending = [];
  }

  #report(entry: PendingOutcome, applied: boolean): void {
    const { attempt, settlement, value } = entry;
    const { logger, events } = this.#options;
    if (!applied) {
      logger.warn?.(
        {
          workerId: this.#options.workerId,
          taskId: settlement.id,
          taskName: attempt.claimed.name,
          attempt: settlement.attempt,
          outcome: settlement.outcome,
        },
        "ignored the outcome of an attempt this worker no longer owns",
      );
      return;
    }
    const base: TaskEventBase = {
      id: settlement.id as TaskId,
      name: attempt.claimed.name,
      attempt: settlement.attempt,
      duration: performance.now() - attempt.startedMono,
    };
    if (settlement.outcome === "interrupted") {
      logger.warn?.(
        this.#taskLogData(attempt, base),
        "task interrupted by the stop; queued again, the attempt not counted",
      );
      return;
    }
    this.counters.durationTotal += base.duration;
    if (settlement.outcome === "completed") {
      this.counters.completed++;
      logger.debug?.(this.#taskLogData(attempt, base), "task completed");
      if (events.has("completed")) {
        events.emit("completed", { ...base, value });
      }
      return;
    }
    // Written a moment ago by `storedErrorJson`, so it parses.
    const error = parseStoredError(settlement.error) as StoredError;
    // The thrown error itself when this worker has it (its stack and cause
    // print in full), else the stored form.
    const err = value instanceof Error ? value : error;
    const timedOut = settlement.outcome === "timed_out";
    const timeout = timedOut ? { timeout: attempt.claimed.timeout } : {};
    if (settlement.retryAt === null) {
      this.counters.failed++;
      logger.error?.(
        { ...this.#taskLogData(attempt, base), ...timeout, err },
        timedOut ? "task timed out and failed" : "task failed",
      );
      events.emit("failed", { ...base, error });
    } else {
      this.counters.retried++;
      const retryAt = new Date(settlement.retryAt);
      logger.warn?.(
        { ...this.#taskLogData(attempt, base), ...timeout, retryAt, err },
        timedOut
          ? "task attempt timed out; retrying"
          : "task attempt failed; retrying",
      );
      events.emit("retrying", { ...base, error, retryAt });
    }
  }

  /** The fields every log line about one attempt carries. */
  #taskLogData(attempt: Attempt, base: TaskEventBase): LogData {
    return {
      workerId: this.#options.workerId,
      taskId: base.id,
      taskName: base.name,
      attempt: base.attempt,
      maxAttempts: attempt.claimed.maxAttempts,
      duration: Math.round(base.duration),
    };
  }
}
