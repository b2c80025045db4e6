/**
 * Process resource figures: peak memory while something runs, and CPU time
 * over an interval. `process.memoryUsage` and `process.cpuUsage` exist on
 * all three runtimes through node:process.
 *
 * @module
 */
import process from "node:process";

/**
 * Samples resident memory every `intervalMs` until stopped.
 *
 * @param {number} [intervalMs]
 * @returns {{ stop: () => { peak_rss_mb: number } }}
 */
export function samplePeakRss(intervalMs = 50) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { peak_rss_mb: Math.round(peak / 1048576) };
    },
  };
}

/**
 * Starts a CPU clock for a timed section: the function it returns gives
 * the CPU time (user + system, all threads) this process has used since,
 * in microseconds. Divided by the tasks handled, it is the `cpu µs/op`
 * column: what each task costs this process, whatever the disk's speed.
 *
 * @returns {() => number}
 */
export function cpuClock() {
  const before = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(before);
    return used.user + used.system;
  };
}

/**
 * CPU time (user + system) this process used while `fn` ran, as a share of
 * one core over the wall time.
 *
 * @param {() => Promise<void>} fn
 * @returns {Promise<{ cpu_percent: number, cpu_ms: number, wall_ms: number }>}
 */
export async function measureCpu(fn) {
  const before = process.cpuUsage();
  const start = performance.now();
  await fn();
  const wall = performance.now() - start;
  const used = process.cpuUsage(before);
  const cpuMs = (used.user + used.system) / 1000;
  return {
    cpu_percent: Math.round((cpuMs / wall) * 10000) / 100,
    cpu_ms: Math.round(cpuMs),
    wall_ms: Math.round(wall),
  };
}
