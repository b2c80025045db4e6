/**
 * The handlers main.ts runs in worker threads. Each thread imports this
 * module on its own: nothing here can see main.ts's variables, and what a
 * handler gets and returns crosses the thread boundary as serialized text.
 *
 * @module
 */
import type { TaskContext } from "../../mod.ts";

/** When a handler ran, measured inside its thread (epoch ms). */
export interface Span {
  start: number;
  end: number;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * How many primes are below `limit`, by trial division: pure computation
 * that never awaits, so on the event loop nothing else could run meanwhile.
 */
export function countPrimes(limit: number): { primes: number } & Span {
  const start = now();
  let primes = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes++;
  }
  return { primes, start, end: now() };
}

/**
 * Loops forever on its first attempt, never looking at `this.signal`: on
 * the event loop a timeout could not stop it. In a thread, the worker
 * terminates the thread at the timeout and the retry runs in a fresh one.
 */
export function runaway(this: TaskContext): string {
  if (this.attempt === 1) {
    for (;;) {
      // a bug: an endless loop
    }
  }
  return `finished on attempt ${this.attempt}`;
}
