/**
 * Waiting for tasks to finish: `waitForResult`'s timers and its one
 * subscription to the backend's changes.
 *
 * A queue holds one watcher, and the watcher holds one backend subscription
 * while anyone waits (taken when the first wait starts, dropped when the
 * last one ends), however many waits run. Each change wakes the waits it may
 * concern: a `settled` change those whose id it lists, any other change
 * (an enqueue, another process's commit, a notice) every wait. A woken wait
 * reads its task by id and returns once the task is final. A change is only
 * a hint: a wait also reads again every second on its own, for backends that
 * cannot notice other processes' commits.
 *
 * @module
 */
import { WaitTimeoutError } from "../core/errors.ts";
import type { Unsubscribe } from "../core/events.ts";
import type { FinalTaskResult, TaskId, TaskResult } from "../core/types.ts";
import {
  checkOptions,
  checkTimerDuration,
  optionKeys,
} from "../core/validate.ts";
import { checkAbortSignal } from "../core/validate_shapes.ts";
import type { Backend, BackendChange } from "../storage/backend.ts";
import { isFinalResult } from "./results.ts";

// How often a wait re-reads when nothing signalled a change (only matters
// for backends that cannot notice other processes' commits).
const WAIT_FALLBACK_POLL = 1000;

/** Options for {@linkcode TaskQueue.waitForResult}. */
export interface WaitOptions {
  /** Give up after this many milliseconds with a `WaitTimeoutError`. No limit when absent. */
  timeout?: number;
  /**
   * Stop waiting when this signal aborts: the wait rejects with the signal's
   * reason, unchanged (a `DOMException` named `AbortError` for a bare
   * `controller.abort()`, which does not name the task: pass a reason that
   * does). The task itself is not touched.
   */
  signal?: AbortSignal;
}

const WAIT_OPTION_KEYS = optionKeys<WaitOptions>(
  { timeout: true, signal: true },
);

/**
 * Checks the options of `waitForResult`: a `timeout` a timer can honour
 * (0 to 2^31 - 1 ms) and an `AbortSignal`.
 *
 * @throws {TypeError | RangeError} Naming the first bad option.
 */
export function checkWaitOptions(options: WaitOptions): void {
  const action = "wait for a result";
  checkOptions(options, WAIT_OPTION_KEYS, action);
  if (options.timeout !== undefined) {
    checkTimerDuration(options.timeout, action, "timeout");
  }
  if (options.signal !== undefined) checkAbortSignal(options.signal, action);
}

/** One wait in progress. */
interface Waiter {
  /** The task waited for. */
  readonly id: number;
  /** Whether the task may have changed since the wait last read it. */
  changed: boolean;
  /** Ends the wait's current sleep, while it sleeps. */
  wake: (() => void) | undefined;
}

/** The waits of one queue, over one subscription to its backend. */
export class ResultWatcher {
  readonly #backend: Backend;
  readonly #read: (id: TaskId) => Promise<TaskResult>;
  readonly #waiters = new Set<Waiter>();
  #unsubscribe: Unsubscribe | undefined;

  /**
   * @param backend Whose changes wake the waits.
   * @param read Reads a task's current result by id (throws for a bad or
   * unknown id, which ends the wait with that error).
   */
  constructor(backend: Backend, read: (id: TaskId) => Promise<TaskResult>) {
    this.#backend = backend;
    this.#read = read;
  }

  /**
   * Resolves with the task's result once it is final (completed, failed or
   * cancelled), reading it at once and again after each change that may
   * concern it.
   *
   * @param id The task to wait for.
   * @param options Checked already: a timeout in ms, an abort signal.
   * @throws {WaitTimeoutError} If `timeout` ms pass first.
   * @throws The signal's reason, if it aborts first.
   * @throws Whatever reading the task throws (`TaskNotFoundError`, ...).
   */
  async wait(id: TaskId, options: WaitOptions): Promise<FinalTaskResult> {
    const { signal, timeout } = options;
    signal?.throwIfAborted();
    const waiter: Waiter = { id, changed: true, wake: undefined };
    this.#add(waiter);
    let timedOut = false;
    const deadline = timeout === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      waiter.wake?.();
    }, timeout);
    const onAbort = () => waiter.wake?.();
    signal?.addEventListener("abort", onAbort);
    try {
      while (true) {
        if (waiter.changed) {
          waiter.changed = false;
          const result = await this.#read(id);
          if (isFinalResult(result)) return result;
        }
        signal?.throwIfAborted();
        if (timedOut) throw new WaitTimeoutError(id, timeout ?? 0);
        await new Promise<void>((resolve) => {
          const fallback = setTimeout(() => {
            waiter.changed = true;
            resolve();
          }, WAIT_FALLBACK_POLL);
          waiter.wake = () => {
            clearTimeout(fallback);
            resolve();
          };
          if (waiter.changed || timedOut || signal?.aborted) waiter.wake();
        });
        waiter.wake = undefined;
      }
    } finally {
      this.#remove(waiter);
      if (deadline !== undefined) clearTimeout(deadline);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Adds a wait, subscribing if it is the first. */
  #add(waiter: Waiter): void {
    this.#waiters.add(waiter);
    if (this.#unsubscribe !== undefined) return;
    try {
      this.#unsubscribe = this.#backend.subscribe(this.#onChange);
    } catch (error) {
      this.#waiters.delete(waiter);
      throw error;
    }
  }

  /** Removes a wait, unsubscribing if it was the last. */
  #remove(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    if (this.#waiters.size > 0) return;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    unsubscribe?.();
  }

  #onChange = (change: BackendChange): void => {
    for (const waiter of this.#waiters) {
      if (change.type === "settled" && !change.ids.includes(waiter.id)) {
        continue;
      }
      waiter.changed = true;
      waiter.wake?.();
    }
  };
}
