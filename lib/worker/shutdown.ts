/**
 * How a worker stops: two stages in order, and a way out of either.
 *
 * 1. **Drain.** Something asks it to stop: `stop()`, one of `run()`'s
 *    triggers (SIGINT/SIGTERM, `duration`, `signal`), or its `maxTasks`
 *    budget spent (the claim loop's own decision, with no deadline). The
 *    loop claims nothing more; running attempts finish and their outcomes
 *    are written.
 * 2. **Interrupt**, at the stop's deadline (`timeout`, by default the
 *    worker's `shutdownTimeout`), or at once on a second shutdown signal:
 *    every running handler's signal aborts with `InterruptedError`, and its
 *    task goes back to the queue at once, the attempt not counted.
 * 3. **Abandon**, when nothing more can be written, whatever the stage (or
 *    none): the backend was closed (`CLOSED`), or the database failed
 *    {@linkcode SHUTDOWN_WRITE_ATTEMPTS} times in a row past the deadline. The worker lets go of its attempts
 *    without writing: their leases expire and any worker recovers them, so
 *    nothing is lost, and `stop()` does not hang on a dead database.
 *
 * The loop ends once it holds no attempt. The stages map to the claim
 * loop's modes (`draining`, `interrupting`); this file holds the stop
 * request, its deadline timer, `run()`'s triggers and the abandon rule.
 *
 * @module
 */
import { coerceError } from "../core/coerce_error.ts";
import { SitqError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { onShutdownSignal } from "../runtime/process.ts";
import type { StopReason, WorkerRunOptions } from "./types.ts";

/** Failed writes tolerated after the stop's deadline before the worker gives up. */
export const SHUTDOWN_WRITE_ATTEMPTS = 3;

/**
 * The abandon rule: whether a failed loop step means nothing more can be
 * written, so the worker should let go of its attempts rather than retry.
 *
 * @param error What the step threw.
 * @param pastDeadline Whether the stop's deadline has passed.
 * @param consecutiveErrors Failed steps in a row, this one included.
 */
export function mustAbandon(
  error: Error,
  pastDeadline: boolean,
  consecutiveErrors: number,
): boolean {
  return isClosed(error) ||
    (pastDeadline && consecutiveErrors >= SHUTDOWN_WRITE_ATTEMPTS);
}

/** Whether `error` says the backend was closed (`CLOSED`). */
export function isClosed(error: Error): boolean {
  return error instanceof SitqError && error.code === "CLOSED";
}

/** The claim loop as a stop drives it (`ClaimLoop` implements it). */
export interface StopTarget {
  /** Whether the loop runs: started and not yet ended. */
  readonly running: boolean;
  /** A start in flight, which a stop waits for. */
  readonly starting: Promise<void> | undefined;
  /** Settles once the running loop has ended. */
  readonly ended: Promise<void> | undefined;
  /** Why the loop stops; the first cause wins. */
  readonly stopReason: StopReason | undefined;
  /** Stage 1: stop claiming, keeping `reason` if it is the first. */
  drain(reason: StopReason): void;
  /** Stage 2: interrupt the running attempts. */
  interrupt(): void;
  /** Makes the loop look at its state again. */
  wake(): void;
  /** How many attempts are running, for log lines. */
  runningCount(): number;
}

/** What a {@linkcode Shutdown} needs from the worker around it. */
export interface ShutdownOptions {
  /** The worker's id, for log lines. */
  workerId: string;
  /** Where stops are logged. */
  logger: Logger;
  /** The loop to stop. */
  target: StopTarget;
}

/** One worker's stop requests and their deadline; see the module doc. */
export class Shutdown {
  readonly #options: ShutdownOptions;
  /** The stop under way, until the loop has ended. */
  #stopped: Promise<void> | undefined;
  /** The stop's deadline timer, while it waits for running tasks. */
  #deadline: ReturnType<typeof setTimeout> | undefined;

  /** @param options The loop to stop and where to log. */
  constructor(options: ShutdownOptions) {
    this.#options = options;
  }

  /**
   * Asks the loop to stop (stage 1) with `timeout` ms until stage 2, and
   * resolves once it has ended. A stop already under way is returned as it
   * is; a start in flight is waited for, then stopped.
   */
  request(reason: StopReason, timeout: number): Promise<void> {
    const { target } = this.#options;
    if (!target.running && target.starting !== undefined) {
      // A failed start leaves nothing to stop.
      return target.starting.then(
        () => this.request(reason, timeout),
        () => {},
      );
    }
    if (!target.running) return this.#stopped ?? Promise.resolve();
    if (this.#stopped !== undefined) return this.#stopped;
    target.drain(reason);
    this.#stopped = this.#stop(timeout);
    return this.#stopped;
  }

  /**
   * Stops at once: as if the stop's deadline had passed now. Starts a stop
   * first if none is under way (a worker draining its `maxTasks`).
   */
  now(reason: StopReason): void {
    const { target } = this.#options;
    if (!target.running) return;
    if (this.#stopped === undefined) this.request(reason, 0).catch(() => {});
    this.#clearDeadline();
    target.interrupt();
  }

  /**
   * Installs `run()`'s stop triggers: SIGINT/SIGTERM (a second one stops at
   * once, a third is the runtime's again), `duration` and `signal`.
   * Returns a function that removes them all.
   *
   * @param options `run()`'s options, already checked.
   * @param timeout Milliseconds a graceful stop waits for running tasks.
   */
  watch(options: WorkerRunOptions, timeout: number): () => void {
    const { workerId, logger, target } = this.#options;
    const cleanup: Array<() => void> = [];
    let received = 0;
    const removeSignalListeners = onShutdownSignal((signal) => {
      // A throw here would crash Node and Deno (or be lost on Bun) while the
      // process tries to stop, leaving running tasks to their lease expiry.
      try {
        received++;
        if (received === 1) {
          logger.info?.(
            { workerId, signal, timeout, running: target.runningCount() },
            `shutdown signal received (${signal}): stopping; running tasks have up to ${timeout} ms to finish (send ${signal} again to stop at once)`,
          );
          this.request(signal, timeout).catch(() => {});
          return;
        }
        logger.warn?.(
          { workerId, signal, interrupted: target.runningCount() },
          `shutdown signal received again (${signal}): stopping at once; running tasks are interrupted and queued again`,
        );
        // A third signal should end the process however this one went.
        removeSignalListeners();
        this.now(signal);
      } catch (error) {
        logger.error?.(
          { workerId, signal, err: coerceError(error) },
          "could not handle a shutdown signal",
        );
      }
    });
    cleanup.push(removeSignalListeners);
    if (options.duration !== undefined) {
      const timer = setTimeout(() => {
        logger.info?.(
          { workerId, duration: options.duration, timeout },
          "run duration elapsed: stopping",
        );
        this.request("duration", timeout).catch(() => {});
      }, options.duration);
      cleanup.push(() => clearTimeout(timer));
    }
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => {
        logger.info?.({ workerId, timeout }, "run signal aborted: stopping");
        this.request("aborted", timeout).catch(() => {});
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        cleanup.push(() => signal.removeEventListener("abort", onAbort));
      }
    }
    return () => {
      for (const undo of cleanup) undo();
    };
  }

  async #stop(timeout: number): Promise<void> {
    const { workerId, logger, target } = this.#options;
    logger.info?.({
      workerId,
      reason: target.stopReason,
      running: target.runningCount(),
      timeout,
    }, "worker stopping");
    target.wake();
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      target.interrupt();
    }, timeout);
    try {
      await target.ended;
    } finally {
      this.#clearDeadline();
      this.#stopped = undefined;
    }
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }
}
