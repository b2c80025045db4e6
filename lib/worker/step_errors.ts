/**
 * A failed claim-loop step: counted, logged and emitted as `error`, then
 * either a back-off before the next try (50 ms, doubling to 5 s; cut short
 * by a stop with nothing left to write), so the loop never dies of a
 * database error, or, by the abandon rule of `shutdown.ts`, giving up:
 * announced once with what becomes of the held tasks, then the loop lets
 * go of its attempts.
 *
 * @module
 */
import { coerceError } from "../core/coerce_error.ts";
import type { TypedEmitter } from "../core/events.ts";
import type { Logger } from "../core/logger.ts";
import type { Completer } from "./completer.ts";
import type { Executor } from "./executor.ts";
import { isClosed, mustAbandon } from "./shutdown.ts";
import type { WorkerEvents } from "./types.ts";

/** The longest back-off after failed steps, in ms. */
const MAX_ERROR_BACKOFF = 5000;

/** What {@linkcode StepErrors} needs from the claim loop's options. */
export interface StepErrorsOptions {
  /** The worker's id, for log lines. */
  workerId: string;
  /** Where failures are logged. */
  logger: Logger;
  /** Where failures are announced. */
  events: TypedEmitter<WorkerEvents>;
  /** Its held and running attempts, for the give-up line. */
  executor: Executor;
  /** Its unwritten outcomes, for the give-up line. */
  completer: Completer;
  /** Whether the stop's deadline has passed. */
  pastDeadline(): boolean;
  /** Whether a back-off may end now: stopping, nothing left to write. */
  mayCutShort(): boolean;
  /** Gives up: lets go of every attempt, unwritten. */
  abandon(): void;
}

/** Guards the loop's steps; see the module doc. */
export class StepErrors {
  readonly #options: StepErrorsOptions;
  #consecutive = 0;
  /** Ends the back-off under way, if it may end. */
  #cutShort: (() => void) | undefined;

  /** @param options Where to report, and what to report on. */
  constructor(options: StepErrorsOptions) {
    this.#options = options;
  }

  /** Awaits one step; on error reports it and backs off, never throwing. */
  async guard(step: Promise<void>): Promise<void> {
    try {
      await step;
      this.#consecutive = 0;
    } catch (thrown) {
      await this.#backOff(coerceError(thrown));
    }
  }

  /** Ends a back-off under way if a stop leaves nothing to write. */
  wake(): void {
    this.#cutShort?.();
  }

  async #backOff(error: Error): Promise<void> {
    const { workerId, logger, events, completer, executor } = this.#options;
    this.#consecutive++;
    const pastDeadline = this.#options.pastDeadline();
    if (mustAbandon(error, pastDeadline, this.#consecutive)) {
      // Give up rather than hang stop(): see `shutdown.ts`. A closed backend
      // is a stop, not a fault of this loop: one warning that says what
      // becomes of the held tasks, never "retrying" (nothing is retried).
      const held = executor.held.size;
      const unwritten = completer.size;
      const closed = isClosed(error);
      const fields = {
        workerId,
        err: error,
        running: executor.runningCount(),
        held,
        unwritten,
      };
      const fate = held === 0
        ? "it held no task"
        : `its ${held} held task(s) stay running until their leases expire, then any worker recovers them (the attempt counts as lost); their outcomes are not written`;
      if (closed) {
        logger.warn?.(
          fields,
          `worker stopping: its backend was closed under it (stop workers before closing the backend; queue.close() does so for workers on its backend); ${fate}`,
        );
      } else {
        logger.error?.(
          { ...fields, consecutiveErrors: this.#consecutive },
          `worker stopping: writes failed ${this.#consecutive} times in a row past the stop's deadline; ${fate}`,
        );
      }
      events.emit("error", { error });
      this.#options.abandon();
      return;
    }
    logger.error?.({
      workerId,
      err: error,
      consecutiveErrors: this.#consecutive,
    }, "worker loop step failed; retrying");
    events.emit("error", { error });
    const delay = Math.min(
      MAX_ERROR_BACKOFF,
      50 * 2 ** Math.min(this.#consecutive - 1, 10),
    );
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.#cutShort = () => {
        if (this.#options.mayCutShort()) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    this.#cutShort = undefined;
  }
}
