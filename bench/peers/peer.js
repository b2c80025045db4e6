/**
 * The shape every peer adapter has, so one set of workloads measures them
 * all the same way.
 *
 * @module
 */

/**
 * @typedef {object} PeerContext
 * @property {string} dir        an empty scratch directory for database files
 * @property {string} sync       the bench's durability level: "full" or "normal"
 * @property {number} [redisPort] where the bench's redis-server listens
 * @property {string} [pgUrl]    a fresh, empty database on the bench's PostgreSQL server
 */

/**
 * One open queue of a peer library. Each workload gets a fresh one.
 *
 * @typedef {object} PeerSession
 * @property {(i: number) => unknown} enqueueOne   add one no-op job (may return a promise)
 * @property {((n: number) => unknown) | undefined} enqueueBulk
 *   add `n` no-op jobs with the library's bulk API; undefined when it has none
 * @property {(n: number) => unknown} prefill
 *   untimed set-up: put `n` jobs in the queue as fast as the library allows
 * @property {(n: number, concurrency: number, maxMs: number) => Promise<number>} drain
 *   process jobs at the given concurrency until `n` have completed or `maxMs`
 *   has passed, then stop; returns how many completed
 * @property {() => unknown} close
 * @property {string} durability what a reader must know to compare fairly
 */

/**
 * @typedef {object} PeerAdapter
 * @property {string} name
 * @property {string} requirement what the library needs, quoted when it cannot run
 * @property {(ctx: PeerContext) => Promise<PeerSession>} open
 */

/** A logger that drops everything: peers' debug logs would cost time. */
export const SILENT_LOGGER = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};

/**
 * A promise that resolves once `count()` has been called `n` times, or
 * after `maxMs`: how an adapter learns from a per-job callback that a drain
 * is over. The time box keeps slow peers from dominating a bench run.
 *
 * @param {number} n
 * @param {number} maxMs
 * @returns {{ done: Promise<void>, count: () => void, completed: () => number }}
 */
export function completionCounter(n, maxMs) {
  let completed = 0;
  /** @type {(value?: unknown) => void} */
  let resolve = () => {};
  const done = new Promise((r) => (resolve = r));
  const deadline = performance.now() + maxMs;
  // The timer covers a peer that stalls; the check in count() covers one
  // whose loop never yields to timers (liteque's runs on microtasks only).
  const timer = setTimeout(() => resolve(), maxMs);
  return {
    done: /** @type {Promise<void>} */ (done).finally(() =>
      clearTimeout(timer)
    ),
    count: () => {
      if (++completed === n || performance.now() >= deadline) resolve();
    },
    completed: () => completed,
  };
}
