/**
 * How much work each scenario does. Full counts are the ones the issue
 * sets; quick counts only prove every path runs.
 *
 * @module
 */

/** Task counts and limits for one run. */
export interface Scale {
  /** Floor and sitq: tasks enqueued one transaction each. */
  enqueueOne: number;
  /** Peers: jobs enqueued one call each (fsync-bound, so fewer). */
  peerEnqueueOne: number;
  /** Floor and sitq: tasks enqueued in one bulk call. */
  enqueueBulk: number;
  /** Peers: jobs enqueued in one bulk call. */
  peerEnqueueBulk: number;
  /** Tasks in the queue before a drain. */
  drain: number;
  /** The warm drains: tasks drained untimed, in the same process, first. */
  drainWarmup: number;
  /** Peers' drains stop here and report the rate so far: slow peers would dominate the run. */
  peerDrainMaxSeconds: number;
  /** sitq in-process latency: tasks timed one after another. */
  latencySamples: number;
  /** sitq cross-process latency: fewer, as each waits on change polling. */
  crossLatencySamples: number;
  /** sitq idle CPU: how long the idle worker is watched. */
  idleSeconds: number;
  /** sitq deep queue: tasks queued before timing a drain of `drain` of them. */
  deepRows: number;
  /** sitq long run: tasks enqueued and then all drained, for memory over time. */
  longDrainRows: number;
  /** Worker threads: CPU-bound tasks (~50 ms each) per subject. */
  cpuTasks: number;
  /** Worker threads: no-op tasks, for the pool's cost per task. */
  threadNoops: number;
  /** A child process taking longer than this is killed and reported. */
  childTimeoutMs: number;
}

/** The counts of a full run. */
export const FULL_SCALE: Scale = {
  enqueueOne: 10_000,
  peerEnqueueOne: 2_000,
  enqueueBulk: 100_000,
  peerEnqueueBulk: 10_000,
  drain: 10_000,
  drainWarmup: 10_000,
  peerDrainMaxSeconds: 10,
  latencySamples: 200,
  crossLatencySamples: 100,
  idleSeconds: 5,
  deepRows: 1_000_000,
  longDrainRows: 1_000_000,
  cpuTasks: 40,
  threadNoops: 5_000,
  childTimeoutMs: 240_000,
};

/** The counts of `--quick`. */
export const QUICK_SCALE: Scale = {
  enqueueOne: 200,
  peerEnqueueOne: 100,
  enqueueBulk: 2_000,
  peerEnqueueBulk: 1_000,
  drain: 300,
  drainWarmup: 100,
  peerDrainMaxSeconds: 5,
  latencySamples: 10,
  crossLatencySamples: 10,
  idleSeconds: 1,
  deepRows: 20_000,
  longDrainRows: 5_000,
  cpuTasks: 4,
  threadNoops: 100,
  childTimeoutMs: 60_000,
};
