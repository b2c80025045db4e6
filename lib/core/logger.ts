/**
 * Where sitq reports what it does. Quiet unless given a logger.
 *
 * @module
 */

/**
 * A logger: every method optional, so `console` or any structured logger
 * (pino, winston, std/log) fits.
 *
 * @example Log worker activity to the console
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * queue.task("noop", () => {});
 * const worker = queue.worker({ logger: console });
 * console.log(worker.id);
 * await queue.close();
 * ```
 */
export interface Logger {
  /** Detail: claims, settlements. */
  debug?(message: string, data?: Record<string, unknown>): void;
  /** Lifecycle: start, stop. */
  info?(message: string, data?: Record<string, unknown>): void;
  /** Something was recovered from: a lost lease, a stale completion. */
  warn?(message: string, data?: Record<string, unknown>): void;
  /** Something failed and will be retried: a database error in the loop. */
  error?(message: string, data?: Record<string, unknown>): void;
}

/** The default logger: says nothing. */
export const silentLogger: Logger = {};
