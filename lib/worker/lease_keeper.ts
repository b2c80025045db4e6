/**
 * Leases: a claim holds a task for `leaseDuration` ms, and only the holder
 * of its fencing token (task id, worker id, attempt number) may write about
 * it. The lease keeper is everything this worker does about leases:
 *
 * - **Renewal** (the heartbeat): every `heartbeatInterval` ms, one batch call
 *   extends the leases of every held attempt, decided ones included (their
 *   outcome is not written yet, and the task must not run elsewhere
 *   meanwhile).
 * - **Lost leases**: a renewal the backend refuses means the token no longer
 *   holds (the lease expired and another worker may run the task). A running
 *   attempt is then dropped: its signal aborts with `LeaseLostError`, nothing
 *   of it is written, and the worker emits `error`.
 * - **Supersede**: when this worker claims a task it still holds an attempt
 *   of, its own lease on that attempt expired (its event loop was blocked,
 *   say); the new claim wins and the old attempt is dropped, written or not.
 * - **Recovery**: expired leases of any worker (crashed, killed, frozen) are
 *   returned to the queue, or failed on their last attempt, by the claim
 *   loop after start and at each poll, and by `processOne()`.
 *
 * @module
 */
import { coerceError } from "../core/coerce_error.ts";
import { LeaseLostError } from "../core/errors.ts";
import type { TypedEmitter } from "../core/events.ts";
import type { Logger } from "../core/logger.ts";
import type { Clock, StoredError } from "../core/types.ts";
import type { FencingToken } from "../storage/backend.ts";
import type { CancelWatch } from "./cancel_watch.ts";
import type { Completer } from "./completer.ts";
import type { Attempt, Executor } from "./executor.ts";
import type { WorkerEvents } from "./types.ts";

/**
 * What an attempt whose lease expired is recorded as having failed with: the
 * stored error of a crash, `kill -9` or freeze. Stored only, never thrown
 * (so no class), with a `code` like every sitq error, to match on.
 */
const LEASE_EXPIRED: StoredError = {
  name: "LeaseExpiredError",
  code: "LEASE_EXPIRED",
  message:
    "The worker running this attempt stopped renewing its lease (it crashed, was killed or froze); the attempt counts as failed",
};
const LEASE_EXPIRED_JSON = JSON.stringify(LEASE_EXPIRED);

/** What the lease keeper needs from the worker around it. */
export interface LeaseKeeperOptions {
  /** The worker's id: the lease owner. */
  workerId: string;
  /** How long a claim or renewal lasts, in ms. */
  leaseDuration: number;
  /** How often held leases are renewed, in ms. */
  heartbeatInterval: number;
  /** "Now" for expiry times. */
  clock: Clock;
  /** Where lost and recovered leases are logged. */
  logger: Logger;
  /** Where lost leases and failed renewals are announced. */
  events: TypedEmitter<WorkerEvents>;
  /** The held attempts, and how to drop one. */
  executor: Executor;
  /** The outcomes waiting to be written, for the supersede rule. */
  completer: Completer;
  /** Extends the leases `tokens` still hold until `leaseExpiresAt`; returns their ids. */
  renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>>;
  /** Returns expired leases to the queue, recording `error` (JSON); returns their ids. */
  recoverExpiredLeases(now: number, error: string): Promise<number[]>;
  /**
   * Tells a lost lease from a cancel: a renewal refused because the task
   * was cancelled drops the attempt with `CancelledError`, not as lost.
   */
  cancels?: CancelWatch;
}

/** Renews, loses, supersedes and recovers leases; see the module doc. */
export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;

  /** @param options The worker's parts this one calls. */
  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
  }

  /**
   * Starts renewing held leases every `heartbeatInterval` ms; returns the
   * function that stops it. Each caller (the loop, each `processOne()`)
   * holds its own timer.
   */
  startHeartbeat(): () => void {
    const timer = setInterval(
      () => void this.renew(),
      this.#options.heartbeatInterval,
    );
    return () => clearInterval(timer);
  }

  /**
   * One heartbeat: renews every held attempt's lease, and drops the running
   * ones whose lease was lost. Never throws: a failed renewal is announced
   * and the next heartbeat tries again (the lease has slack for that).
   */
  async renew(): Promise<void> {
    const { executor, workerId, events } = this.#options;
    // Decided attempts still hold their lease until their outcome is
    // written: renewing them keeps a slow or failing write from letting
    // another worker run a task that has in fact finished.
    const held = [...executor.held.values()];
    if (held.length === 0) return;
    let owned: Set<number>;
    try {
      owned = await this.#options.renewLeases(
        held.map((attempt) => ({
          id: attempt.claimed.id,
          workerId,
          attempt: attempt.claimed.attempt,
        })),
        this.#options.clock.now() + this.#options.leaseDuration,
      );
    } catch (thrown) {
      events.emit("error", { error: coerceError(thrown) });
      return;
    }
    await this.#dropCancelled(held, owned);
    for (const attempt of held) {
      if (owned.has(attempt.claimed.id) || attempt.done) continue;
      const reason = new LeaseLostError(attempt.claimed.id, workerId);
      this.#options.logger.warn?.(
        {
          workerId,
          taskId: attempt.claimed.id,
          taskName: attempt.claimed.name,
          attempt: attempt.claimed.attempt,
        },
        reason.message,
      );
      events.emit("error", { error: reason });
      executor.drop(attempt, reason);
    }
  }

  /**
   * Of the running attempts a renewal refused, drops those whose task was
   * cancelled (one read, only when some renewal was refused).
   */
  async #dropCancelled(
    held: readonly Attempt[],
    owned: Set<number>,
  ): Promise<void> {
    const cancels = this.#options.cancels;
    if (cancels === undefined) return;
    const refused = held.filter((attempt) =>
      !owned.has(attempt.claimed.id) && !attempt.done
    );
    if (refused.length === 0) return;
    try {
      await cancels.checkAttempts(refused);
    } catch {
      // Taken as lost below, as before this check existed.
    }
  }

  /**
   * This worker just claimed task `id`, so the database held it as queued:
   * any older attempt of it here lost its lease meanwhile (an event loop
   * blocked past the lease, say) and is no longer ours to finish. A running
   * one is aborted; an outcome still waiting to be written is dropped, since
   * after a requeue (attempts reset) it could otherwise match the new claim.
   */
  supersede(id: number): void {
    const previous = this.#options.executor.held.get(id);
    if (previous !== undefined && !previous.done) {
      this.#options.executor.drop(
        previous,
        new LeaseLostError(id, this.#options.workerId),
      );
    }
    this.#options.completer.dropSuperseded(id);
  }

  /**
   * Returns the tasks whose lease expired (of any worker) to the queue, or
   * fails them on their last attempt, recording the lost attempt as a
   * `LeaseExpiredError`. Logs them at `warn`.
   *
   * @returns Whether any task was recovered.
   * @throws {DatabaseError} If the backend fails.
   */
  async recoverExpired(): Promise<boolean> {
    const { workerId, clock, logger } = this.#options;
    const recovered = await this.#options.recoverExpiredLeases(
      clock.now(),
      LEASE_EXPIRED_JSON,
    );
    if (recovered.length === 0) return false;
    logger.warn?.(
      { workerId, taskIds: recovered },
      "recovered tasks whose lease expired",
    );
    return true;
  }
}
