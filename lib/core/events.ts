/**
 * A small typed event emitter, so every runtime gets the same API without
 * `node:events`.
 *
 * @module
 */

/** A listener-removing function returned by `on`. */
export type Unsubscribe = () => void;

/**
 * Calls listeners registered per event name. A listener that throws does not
 * stop the others; its error goes to `onListenerError`.
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  /** @param onListenerError Where a throwing listener's error goes. */
  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Registers `listener` for `event`; returns a function that removes it. */
  on<Name extends keyof Events>(
    event: Name,
    listener: (payload: Events[Name]) => void,
  ): Unsubscribe {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Whether anything listens for `event` (so payloads are built only when needed). */
  has(event: keyof Events): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener of `event` with `payload`. */
  emit<Name extends keyof Events>(event: Name, payload: Events[Name]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as (payload: Events[Name]) => void)(payload);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}
