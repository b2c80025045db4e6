/**
 * A minimal promise-based mutex: SQLite's dialect keeps one per database
 * file, so this process's writers take turns before they reach SQLite.
 *
 * @module
 */

/** Runs callers of `lock` one at a time, in arrival order. */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier caller's `fn` has settled. */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn);
    this.#tail = run.then(() => {}, () => {});
    return run;
  }
}
