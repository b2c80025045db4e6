/**
 * The running workers of each backend in this process, so that closing a
 * queue can stop them before its backend goes away.
 *
 * Why here and not in the backend: a worker from `queue.worker()` and one
 * made with `new Worker(backend)` are the same to the backend, and the
 * `Backend` interface (implemented outside this package too) has no way to
 * say "closing: wait for me". So every worker registers itself while it
 * runs, keyed by its backend object, and `TaskQueue.close()` stops those
 * first, each with its own graceful stop. A backend closed directly
 * (`backend.close()`) is not covered: its workers see `CLOSED` and give up
 * (see `shutdown.ts`).
 *
 * @module
 */
import type { Backend } from "../storage/backend.ts";

/** What a registered worker offers: its graceful stop. */
export interface Stoppable {
  /** Stops gracefully with the worker's `shutdownTimeout`. */
  stop(): Promise<void>;
}

const running = new WeakMap<Backend, Set<Stoppable>>();

/** Notes that `worker` runs on `backend` until `done` settles. */
export function registerRunning(
  backend: Backend,
  worker: Stoppable,
  done: Promise<void>,
): void {
  let workers = running.get(backend);
  if (workers === undefined) {
    workers = new Set();
    running.set(backend, workers);
  }
  workers.add(worker);
  const set = workers;
  done.then(() => set.delete(worker), () => set.delete(worker));
}

/**
 * Stops every worker running on `backend` in this process, all at once, and
 * resolves when all have stopped (a stop never rejects).
 */
export async function stopRunningOn(backend: Backend): Promise<void> {
  const workers = running.get(backend);
  if (workers === undefined || workers.size === 0) return;
  await Promise.all([...workers].map((worker) => worker.stop()));
}
