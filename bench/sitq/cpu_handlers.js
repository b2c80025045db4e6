/**
 * The handlers of the worker-thread scenarios (threads_main.js): plain
 * JavaScript, so every runtime's threads import it as it is (Node 20 too).
 *
 * @module
 */

/**
 * A fixed amount of CPU work: `iterations` rounds of xorshift32. The
 * result is returned so the loop cannot be optimised away.
 *
 * @param {number} iterations
 * @returns {number}
 */
export function work(iterations) {
  let x = 2463534242;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

/** Does nothing: the pool's own cost per task is what is measured. */
export function noop() {}
