/**
 * How long a failed task waits before its next attempt.
 *
 * @module
 */
import { show } from "./validate.ts";

/**
 * The wait before a retry:
 * - `{ type: "fixed", delay }`: always `delay` ms;
 * - `{ type: "exponential", delay, maxDelay?, jitter? }`: `delay * 2^(n-1)` ms
 *   after the n-th failed attempt, capped at `maxDelay` (default one hour),
 *   and with `jitter` (default `true`) a random value between half of that and
 *   all of it, so a burst of failures does not retry in lockstep;
 * - a function of the failed attempt's number (from 1) and its error,
 *   returning milliseconds.
 *
 * @example
 * ```ts
 * import type { Backoff } from "sitq";
 *
 * const gentle: Backoff = { type: "exponential", delay: 500, maxDelay: 60_000 };
 * const custom: Backoff = (attempt) => attempt * 1000;
 * console.log(gentle, typeof custom === "function" && custom(2, new Error("boom")));
 * ```
 */
export type Backoff =
  | { type: "fixed"; delay: number }
  | { type: "exponential"; delay: number; maxDelay?: number; jitter?: boolean }
  | ((attempt: number, error: Error) => number);

/** The backoff used when a task names none: exponential from 1 s, with jitter. */
export const DEFAULT_BACKOFF: Backoff = { type: "exponential", delay: 1000 };

const HOUR = 3_600_000;

/**
 * Checks a backoff given in options. Messages read like every other option
 * check: "Cannot <action> as 'backoff.<field>' must be <rule>: current value
 * is <value>".
 *
 * @param backoff The value given as `backoff`.
 * @param action What is being done, for the message: `define task "x"`.
 * @throws {TypeError} If it is neither a known shape nor a function.
 * @throws {RangeError} If a delay is negative or not finite.
 */
export function validateBackoff(backoff: unknown, action: string): void {
  if (typeof backoff === "function") return;
  if (typeof backoff !== "object" || backoff === null) {
    throw new TypeError(
      `Cannot ${action} as 'backoff' must be { type: "fixed" | "exponential", delay } or a function: current value is ${
        show(backoff)
      }`,
    );
  }
  const { type, delay, maxDelay } = backoff as Record<string, unknown>;
  if (type !== "fixed" && type !== "exponential") {
    throw new TypeError(
      `Cannot ${action} as 'backoff.type' must be "fixed" or "exponential": current value is ${
        show(type)
      }`,
    );
  }
  for (const [name, value] of [["delay", delay], ["maxDelay", maxDelay]]) {
    if (name === "maxDelay" && value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `Cannot ${action} as 'backoff.${name}' must be a finite number of milliseconds >= 0: current value is ${
          show(value)
        }`,
      );
    }
  }
}

/**
 * The delay in milliseconds before the attempt after `attempt` failed.
 *
 * @param backoff The task's backoff.
 * @param attempt The number of the attempt that failed, from 1.
 * @param error What it threw.
 * @param random A source of numbers in [0, 1), injectable for tests.
 */
export function retryDelay(
  backoff: Backoff,
  attempt: number,
  error: Error,
  random: () => number = Math.random,
): number {
  if (typeof backoff === "function") {
    const delay = backoff(attempt, error);
    // A broken backoff function must not lose the retry: fall back to now.
    return Number.isFinite(delay) && delay > 0 ? delay : 0;
  }
  if (backoff.type === "fixed") return backoff.delay;
  const exponential = Math.min(
    backoff.maxDelay ?? HOUR,
    backoff.delay * 2 ** (attempt - 1),
  );
  if (backoff.jitter === false) return exponential;
  return exponential / 2 + random() * exponential / 2;
}
