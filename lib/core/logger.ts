/**
 * Where sitq reports what it does. Quiet unless given a logger.
 *
 * @module
 */

/**
 * The fields of a log line besides its message: ids, names, counts,
 * durations in milliseconds, and an error under `err` (the key pino's
 * default serializers turn into `{ type, message, stack }`).
 */
export type LogData = Record<string, unknown>;

/**
 * One level's method. sitq always calls it with two arguments, fields first
 * and message second: `logger.warn({ taskId: 7, attempt: 1, err }, "task
 * attempt failed; retrying")`. That is the order of pino and bunyan (which
 * merge the fields into their JSON line and take the second argument as
 * the message), and `console` prints both. A logger whose methods take the
 * message first (winston, `(message, meta)`) does not fit this type; wrap
 * it: `{ warn: (data, message) => logger.warn(message, data) }`.
 *
 * @param data The line's fields; a fresh object on every call.
 * @param message What happened, in words.
 */
export type LogMethod = (data: LogData, message: string) => void;

/**
 * A logger: any of `debug`, `info`, `warn` and `error`, each a
 * {@linkcode LogMethod}. `console`, a pino logger (or a child of one) and
 * any object with methods taking `(data, message)` fit. A level that is
 * missing is not logged.
 *
 * What each level carries (every line but the backend's notice has
 * `workerId`; task lines have `taskId`, `taskName`, `attempt` and
 * `maxAttempts`):
 * - `debug`: tasks claimed, tasks completed (with `duration`).
 * - `info`: the worker started, is stopping (with how long it waits), stopped;
 *   a shutdown signal.
 * - `warn`: an attempt failed or timed out and will be retried (`err`,
 *   `retryAt`, and `timeout` for a timeout); a task interrupted by a stop and
 *   queued again; expired leases recovered; a lease lost; once per worker,
 *   the backend's notice that other processes' commits are found by polling
 *   alone (`backend`: its description), because its push wake-ups cannot
 *   run.
 * - `error`: a task failed for good or timed out on its last attempt
 *   (`err`); the worker's own database error, which it retries.
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
 *
 * @example A logger of your own
 * ```ts
 * import type { Logger } from "sitq";
 *
 * const lines: string[] = [];
 * const logger: Logger = {
 *   warn: (data, message) => lines.push(`${message} ${JSON.stringify(data)}`),
 *   error: (data, message) => lines.push(`${message} ${JSON.stringify(data)}`),
 * };
 * logger.warn?.({ taskId: 1 }, "example");
 * console.log(lines); // [ 'example {"taskId":1}' ]
 * ```
 */
export interface Logger {
  /** Detail: claims and completions. */
  debug?: LogMethod;
  /** Lifecycle: start, stop, shutdown signals. */
  info?: LogMethod;
  /** Something went wrong and is handled: a retry, an interrupted task, a lost lease. */
  warn?: LogMethod;
  /** Something failed: a task for good, or the worker's own database access. */
  error?: LogMethod;
}

/** The default logger: says nothing. */
export const silentLogger: Logger = {};

/**
 * The user's logger with every call guarded: a logger that throws must not
 * end the worker loop, leave a rejection unhandled or escape a signal
 * listener. Levels the logger lacks stay absent, so callers can skip
 * building the data of a line nobody logs (`logger.debug?.(...)`).
 */
export function guardLogger(logger: Logger): Logger {
  const guarded: Logger = {};
  for (const level of ["debug", "info", "warn", "error"] as const) {
    const log = logger[level];
    if (typeof log !== "function") continue;
    guarded[level] = (data, message) => {
      try {
        // Called on the logger: pino's methods read `this`.
        log.call(logger, data, message);
      } catch {
        // Nowhere left to report it; the work goes on.
      }
    };
  }
  return guarded;
}
