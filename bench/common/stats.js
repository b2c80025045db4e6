/**
 * Latency sampling: a monotonic clock and nearest-rank percentiles.
 *
 * @module
 */

/**
 * Milliseconds from a monotonic clock, available on all three runtimes.
 *
 * @returns {number}
 */
export function nowMs() {
  return performance.now();
}

/**
 * The p-th percentile (nearest rank) of the samples, in the samples' unit.
 * Sorts a copy so callers can keep appending to theirs.
 *
 * @param {number[]} samples
 * @param {number} p between 0 and 100
 * @returns {number | undefined} undefined when there are no samples
 */
export function percentile(samples, p) {
  if (samples.length === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * p50 and p99 rounded to microseconds, ready for a report.
 *
 * @param {number[]} samples latencies in ms
 * @returns {{ p50_ms?: number, p99_ms?: number }}
 */
export function latencySummary(samples) {
  const round = (/** @type {number | undefined} */ v) =>
    v === undefined ? undefined : Math.round(v * 1000) / 1000;
  return {
    p50_ms: round(percentile(samples, 50)),
    p99_ms: round(percentile(samples, 99)),
  };
}
