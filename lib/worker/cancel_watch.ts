/**
 * Cancelled while running: `queue.cancel(id)` (from any process) sets a
 * running task `cancelled` and clears its lease in the database, which
 * fences out this worker's late settlement; this watch is how the worker
 * learns of it, to abort the handler.
 *
 * On each backend change that may carry a cancel (a `settled` naming a
 * task this worker runs: a cancel in this process; an `external` commit:
 * another process's) it asks, in one read by primary key, which of its
 * running tasks are cancelled now, and drops those: their signal aborts
 * with a {@linkcode CancelledError}, nothing of the attempt is written, it
 * is not retried, and whatever the handler returns later is ignored. The
 * lease keeper asks the same question about the leases a renewal reports
 * lost, so a cancel is noticed by the next heartbeat at the latest.
 * Changes while nothing runs cost nothing; checks never overlap, and come
 * at most every 50 ms.
 *
 * @module
 */
import { CancelledError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { BackendChange } from "../storage/backend.ts";
import type { Attempt, Executor } from "./executor.ts";

/** The least time between two checks, in ms. */
const MIN_GAP_MS = 50;

/** What the watch needs from the worker around it. */
export interface CancelWatchOptions {
  /** The worker's id, for the reason and logs. */
  workerId: string;
  /** The held attempts, and how to drop one. */
  executor: Executor;
  /** Where dropped attempts are logged. */
  logger: Logger;
  /** The tasks among `ids` that are cancelled now. */
  cancelledAmong(ids: readonly number[]): Promise<number[]>;
}

/** Aborts this worker's running attempts whose tasks were cancelled. */
export class CancelWatch {
  readonly #options: CancelWatchOptions;
  #checking = false;
  #again = false;
  #lastCheck = -Infinity;

  /** @param options The executor and the storage read it uses. */
  constructor(options: CancelWatchOptions) {
    this.#options = options;
  }

  /** A backend change: checks the running attempts when it may matter. */
  readonly onChange = (change: BackendChange): void => {
    const held = this.#options.executor.held;
    if (held.size === 0) return;
    if (change.type === "settled") {
      if (!change.ids.some((id) => held.get(id)?.done === false)) return;
    } else if (change.type !== "external") {
      return;
    }
    void this.check();
  };

  /** Checks every running attempt now (one read); never throws. */
  async check(): Promise<void> {
    if (this.#checking) {
      this.#again = true;
      return;
    }
    this.#checking = true;
    try {
      do {
        this.#again = false;
        // Under a stream of other processes' commits, at most one read per
        // MIN_GAP_MS: a cancel is still seen within that gap.
        const wait = this.#lastCheck + MIN_GAP_MS - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.#lastCheck = performance.now();
        const running = this.#running();
        if (running.length === 0) return;
        try {
          await this.checkAttempts(running);
        } catch {
          // The next change, or the next heartbeat, asks again.
          return;
        }
      } while (this.#again);
    } finally {
      this.#checking = false;
    }
  }

  /**
   * Asks which of `attempts` have their task cancelled now and drops those.
   *
   * @throws {DatabaseError} If the read fails.
   */
  async checkAttempts(attempts: readonly Attempt[]): Promise<void> {
    const cancelled = await this.#options.cancelledAmong(
      attempts.map((attempt) => attempt.claimed.id),
    );
    if (cancelled.length > 0) this.dropCancelled(attempts, new Set(cancelled));
  }

  /**
   * Drops the attempts among `attempts` whose task is in `cancelled`, if
   * still held and running; returns those it dropped.
   */
  dropCancelled(
    attempts: readonly Attempt[],
    cancelled: ReadonlySet<number>,
  ): Attempt[] {
    const { executor, workerId, logger } = this.#options;
    const dropped: Attempt[] = [];
    for (const attempt of attempts) {
      const id = attempt.claimed.id;
      if (!cancelled.has(id) || attempt.done) continue;
      if (executor.held.get(id) !== attempt) continue;
      const reason = new CancelledError(id, workerId);
      logger.info?.(
        {
          workerId,
          taskId: id,
          taskName: attempt.claimed.name,
          attempt: attempt.claimed.attempt,
        },
        "task cancelled while running; its handler is aborted",
      );
      executor.drop(attempt, reason);
      dropped.push(attempt);
    }
    return dropped;
  }

  #running(): Attempt[] {
    const running: Attempt[] = [];
    for (const attempt of this.#options.executor.held.values()) {
      if (!attempt.done) running.push(attempt);
    }
    return running;
  }
}
