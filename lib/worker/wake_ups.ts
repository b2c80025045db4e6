/**
 * When the claim loop should look again: the worker's end of the wake-up
 * path (the backend's end is `lib/storage/change_feed.ts`).
 *
 * Two flags say what the loop owes: `dirty` (the queue may hold due work
 * this worker has not claimed) and `recoverDue` (expired leases may wait to
 * be recovered). They are raised by:
 * - a backend change: a task enqueued in this process (due now: dirty; due
 *   later: a timer for then), another connection's commit (dirty);
 * - the poll timer, every `pollInterval` ms (both): the net for what no
 *   change announces, delayed tasks of other processes coming due and
 *   leases expiring;
 * - a timer for the earliest retry or delayed task due before the next
 *   poll (dirty).
 * Each raise of `dirty` also wakes the loop. A change is a hint, never the
 * only way work is found: the poll timer stands behind every one.
 *
 * @module
 */
import type { Unsubscribe } from "../core/events.ts";
import type { Clock } from "../core/types.ts";
import type { BackendChange } from "../storage/backend.ts";

/** What the wake-ups need from the worker around them. */
export interface WakeUpsOptions {
  /** "Now", to tell a delayed task from a due one. */
  clock: Clock;
  /** Ms between polls. */
  pollInterval: number;
  /** Listens for the backend's changes. */
  subscribe(listener: (change: BackendChange) => void): Unsubscribe;
  /** A `notice` change from the backend (it is not a wake-up). */
  onNotice(change: Extract<BackendChange, { type: "notice" }>): void;
  /** Wakes the loop. */
  wake(): void;
}

/** The flags and timers that wake the claim loop; see the module doc. */
export class WakeUps {
  /** Whether the queue may hold due work this worker has not claimed. */
  dirty = true;
  /** Whether expired leases should be recovered at the next turn. */
  recoverDue = true;
  readonly #options: WakeUpsOptions;
  /** Counts `markDirty` calls, so a claim can tell if one came meanwhile. */
  #signals = 0;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #scheduledWake:
    | { at: number; timer: ReturnType<typeof setTimeout> }
    | undefined;
  #unsubscribe: Unsubscribe | undefined;

  /** @param options The clock, poll interval, backend feed and loop. */
  constructor(options: WakeUpsOptions) {
    this.#options = options;
  }

  /** How many times `dirty` was raised so far. */
  get signals(): number {
    return this.#signals;
  }

  /** Raises both flags, subscribes to the backend and arms the poll timer. */
  start(): void {
    this.dirty = true;
    this.recoverDue = true;
    this.#unsubscribe = this.#options.subscribe(this.#onChange);
    this.#armPollTimer();
  }

  /** Clears every timer and unsubscribes. */
  stop(): void {
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
    if (this.#scheduledWake !== undefined) {
      clearTimeout(this.#scheduledWake.timer);
    }
    this.#scheduledWake = undefined;
    this.#unsubscribe?.();
  }

  /** The queue may hold due work: raise `dirty` and wake the loop. */
  markDirty(): void {
    this.#signals++;
    this.dirty = true;
    this.#options.wake();
  }

  /** Raises `dirty` when a task delayed until `at` (epoch ms) comes due. */
  wakeAt(at: number): void {
    if (this.#scheduledWake !== undefined && this.#scheduledWake.at <= at) {
      return;
    }
    if (this.#scheduledWake !== undefined) {
      clearTimeout(this.#scheduledWake.timer);
    }
    const delay = Math.max(0, at - this.#options.clock.now());
    if (delay >= this.#options.pollInterval) return; // the poll timer comes first
    const timer = setTimeout(() => {
      this.#scheduledWake = undefined;
      this.markDirty();
    }, delay);
    this.#scheduledWake = { at, timer };
  }

  readonly #onChange = (change: BackendChange): void => {
    if (change.type === "settled") return;
    if (change.type === "notice") {
      this.#options.onNotice(change);
      return;
    }
    if (
      change.type === "enqueued" && change.runAt > this.#options.clock.now()
    ) {
      this.wakeAt(change.runAt);
      return;
    }
    this.markDirty();
  };

  #armPollTimer(): void {
    this.#pollTimer = setTimeout(() => {
      this.recoverDue = true;
      this.markDirty();
      this.#armPollTimer();
    }, this.#options.pollInterval);
  }
}
