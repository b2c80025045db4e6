/**
 * A worker's {@linkcode WorkerStats}, assembled from its parts: the loop's
 * uptime, the completer's written-outcome counters and the executor's
 * running attempts.
 *
 * @module
 */
import type { Engine } from "./engine.ts";
import type { WorkerStats } from "./types.ts";

/** What the worker of `engine` has done since it started. */
export function workerStats(engine: Engine): WorkerStats {
  const uptime = engine.loop.uptime();
  const { completed, failed, retried, durationTotal } =
    engine.completer.counters;
  const finished = completed + failed + retried;
  const currentTasks = engine.executor.runningIds();
  return {
    running: engine.loop.running,
    active: currentTasks.length,
    currentTasks,
    completed,
    failed,
    retried,
    uptime,
    tasksPerSecond: uptime > 0 ? finished / (uptime / 1000) : 0,
    averageDuration: finished > 0 ? durationTotal / finished : 0,
  };
}
