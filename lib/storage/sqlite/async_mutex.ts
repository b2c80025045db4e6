/**
 * A minimal promise-based mutex: SQLite's dialect keeps one per database
 * file, so this process's writers take turns before they reach SQLite.
 *
 * @module
 */

/** Runs callers of `lock` one at a time, in arrival order. */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();
  /** Callers holding or waiting for the lock. */
  #holders = 0;

  /**
   * Whether nobody holds or waits for the lock: code that runs to its end
   * within the caller's turn may then go ahead without taking it, since
   * nobody can take it meanwhile.
   */
  get free(): boolean {
    return this.#holders === 0;
  }

  /** Runs `fn` once every earlier caller's `fn` has settled. */
  lock<T>(fn: () => T | Promise<T>): Promise<T> {
    this.#holders++;
    const run = this.#tail.then(fn);
    this.#tail = run.then(this.#release, this.#release);
    return run;
  }

  readonly #release = (): void => {
    this.#holders--;
  };
}
