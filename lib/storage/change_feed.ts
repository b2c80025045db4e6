/**
 * Fans backend changes out to subscribers, and while anyone listens, polls
 * for commits made by other connections (other processes).
 *
 * @module
 */
import type { Unsubscribe } from "../core/events.ts";
import type { BackendChange } from "./backend.ts";

/** Reports whether another connection committed since the last call. */
export type ExternalChangeProbe = () => Promise<boolean>;

/** Subscribers plus a poll timer that runs only while there are subscribers. */
export class ChangeFeed {
  readonly #listeners = new Set<(change: BackendChange) => void>();
  readonly #probe: ExternalChangeProbe;
  readonly #interval: number;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;

  /**
   * @param probe Asks the database whether others committed.
   * @param interval Milliseconds between probes; 0 disables probing.
   * @param onError Where a failed probe's error goes (the feed keeps going).
   */
  constructor(
    probe: ExternalChangeProbe,
    interval: number,
    onError: (error: unknown) => void,
  ) {
    this.#probe = probe;
    this.#interval = interval;
    this.#onError = onError;
  }

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: (change: BackendChange) => void): Unsubscribe {
    this.#listeners.add(listener);
    this.#schedule();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /** Tells every listener about `change`. */
  emit(change: BackendChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** Stops polling and forgets every listener. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#listeners.size > 0) this.#listeners.clear();
  }

  #schedule(): void {
    if (this.#interval <= 0 || this.#timer !== undefined || this.#polling) {
      return;
    }
    this.#timer = setTimeout(() => this.#poll(), this.#interval);
  }

  async #poll(): Promise<void> {
    this.#timer = undefined;
    if (this.#listeners.size === 0) return;
    this.#polling = true;
    try {
      if (await this.#probe()) this.emit({ type: "external" });
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#polling = false;
    }
    if (this.#listeners.size > 0) this.#schedule();
  }
}
