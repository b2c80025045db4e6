/**
 * An abort controller that makes its `AbortSignal` only when someone asks
 * for it.
 *
 * @module
 */

/**
 * Like `AbortController`, but the real controller is created on the first
 * read of {@linkcode LazyAbortController.signal}. Most handlers never read
 * their signal, and making one per attempt was a measurable share of a
 * short task's cost. A signal first read after `abort()` is already aborted,
 * with the same reason.
 */
export class LazyAbortController {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  /** The signal; created on first read. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts with `reason`; only the first call counts. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
