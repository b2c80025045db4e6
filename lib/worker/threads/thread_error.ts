/**
 * The error stored for an attempt whose thread died under it.
 *
 * @module
 */
import { SitqError } from "../../core/errors.ts";

/**
 * Why a thread ended an attempt by dying, as {@linkcode ThreadError.code}:
 *
 * - `THREAD_OUT_OF_MEMORY`: the thread reached its `threads.resourceLimits`
 *   (Node only: Bun does not enforce the limits, and on Deno an
 *   out-of-memory thread stops without saying so, so its attempt ends at
 *   its timeout).
 * - `THREAD_CRASHED`: the thread ended while running the attempt: an
 *   exception thrown outside the handler's promise (in a timer, say), or
 *   `process.exit()` called by the handler.
 * - `THREAD_START_FAILED`: no thread could be started (on Deno, without
 *   read permission for sitq's files).
 */
export type ThreadErrorCode =
  | "THREAD_OUT_OF_MEMORY"
  | "THREAD_CRASHED"
  | "THREAD_START_FAILED";

/**
 * The thread running an attempt died (out of memory, crashed) or could not
 * start. Only that attempt fails, like any failed attempt (it is retried
 * while attempts remain); the pool starts a fresh thread for the next one.
 * It is stored as the attempt's error, with its `code`.
 *
 * @example
 * ```ts
 * import { ThreadError } from "sitq";
 *
 * const error = new ThreadError("THREAD_CRASHED", "the thread exited with code 1");
 * console.log(error.code); // "THREAD_CRASHED"
 * ```
 */
export class ThreadError extends SitqError {
  /** Which way the thread failed. */
  declare readonly code: ThreadErrorCode;

  /**
   * Creates the error.
   *
   * @param code Which way the thread failed.
   * @param message What happened and what to do.
   * @param options The standard `cause` option (the thread's own error).
   */
  constructor(code: ThreadErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
