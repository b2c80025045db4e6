/**
 * Fans backend changes out to subscribers, and while anyone listens, looks
 * for commits made by other connections (other processes): at once when
 * the dialect reports the database written, and on a timer as the safety
 * net.
 *
 * ## The wake-up path, end to end
 *
 * This header is the one description of how an idle worker (or a waiting
 * `waitForResult`) learns that there is something to do; the other places
 * on the path point here.
 *
 * 1. **This process's writes.** After each commit, `sql_backend.ts` emits a
 *    {@linkcode BackendChange} through {@linkcode ChangeFeed.emit}:
 *    `enqueued` (with the earliest run time) after an insert, a requeue or a
 *    lease recovery, `settled` (with the ids) after a settlement, a cancel or
 *    a recovery. Subscribers hear of it synchronously, with no query.
 * 2. **Other processes' writes: the probe.** While at least one listener is
 *    subscribed, the feed asks the dialect's `hasExternalChanges` (SQLite:
 *    `PRAGMA data_version`, which reads no table) every `pollInterval` ms
 *    (`changePollInterval`: 100 by default), and emits `external` when it
 *    says yes.
 * 3. **Push wake-ups: the write watch.** After the first successful probe
 *    (the database exists by then) the feed starts the dialect's
 *    `watchWrites` (SQLite: an `fs.watch` of the `-wal` file, see
 *    `sqlite/file_watch.ts`). Each write event schedules a probe within
 *    {@linkcode MIN_PROBE_GAP_MS}, then follow-up probes at doubling gaps up
 *    to {@linkcode MAX_CHASE_GAP_MS} (an event comes before the commit is
 *    visible, and one event may stand for several commits). While the watch
 *    is live the timer probe slows to `watchedPollInterval` (1000 ms by
 *    default). This process's own writes stop the watch until it has been
 *    quiet for {@linkcode OWN_WRITE_QUIET_MS}, probing at that gap
 *    meanwhile: its events would only report our own commits, at a cost
 *    to each. A watch is a hint, never proof: the probe stays the safety
 *    net.
 * 4. **No push.** When the watch cannot start, or ends and cannot start
 *    again, the feed emits one `notice` with code `PUSH_UNAVAILABLE` (at most
 *    once per feed, so once per backend) and keeps polling at
 *    `pollInterval`.
 * 5. **Subscribers.** A worker (`lib/worker/wake_ups.ts`) wakes its claim
 *    loop on `enqueued` (at once, or at the task's run time) and on
 *    `external`; its own `pollInterval` timer is the last safety net, and the
 *    only one when `changePollInterval` is 0. It logs a `notice` once.
 *    `waitForResult` (`lib/queue/result_watcher.ts`) re-reads a task on a
 *    `settled` naming it and on any other change, and every second anyway.
 *
 * @module
 */
import type { Unsubscribe } from "../core/events.ts";
import type { BackendChange } from "./backend.ts";

/** Reports whether another connection committed since the last call. */
export type ExternalChangeProbe = () => Promise<boolean>;

/**
 * Starts watching for writes to the database, calling `onWrite` for each
 * and `onLost` if the watch ends by itself; returns a stop function, or
 * undefined when the watch cannot start (the feed then polls, and says so
 * once with a `notice`).
 */
export type WriteWatcher = (
  onWrite: () => void,
  onLost: () => void,
) => (() => void) | undefined;

/** How the feed looks for other connections' commits. */
export interface ChangeFeedOptions {
  /** The backend's label, for the `notice` message. */
  description: string;
  /** Asks the database whether others committed. */
  probe: ExternalChangeProbe;
  /**
   * Milliseconds between probes while no write watch is live; 0 disables
   * probing (and watching) altogether.
   */
  pollInterval: number;
  /** Milliseconds between probes while a write watch is live. */
  watchedPollInterval: number;
  /** Where write notifications come from, if anywhere. */
  watch?: WriteWatcher;
  /**
   * Why the watch may not start, for the `PUSH_UNAVAILABLE` notice: a
   * clause after "for <description>: ". Default: SQLite's reasons.
   */
  unwatchableReason?: string;
  /** Where a failed probe's error goes (the feed keeps going). */
  onError: (error: unknown) => void;
}

/**
 * The shortest gap, in ms, between two probes after a write event. Every
 * commit, this process's own included, fires the watch. Probing at most this
 * often bounds the cost while this process writes fast, and adds at most
 * this much to another process's wake-up latency.
 */
const MIN_PROBE_GAP_MS = 2;
/**
 * The longest gap, in ms, of the follow-up probes after a write event. The
 * event comes when the log is written, which is before the commit is
 * visible: with synchronous=FULL the writer first waits for its fsync. And
 * the kernel merges events that pile up unread, so one event may stand for
 * several commits. So after an event, probe again at doubling gaps (2, 4,
 * ... 128 ms: about a quarter second in all), starting over at each change
 * seen, before leaving it to the poll.
 */
const MAX_CHASE_GAP_MS = 128;
/**
 * How long, in ms, this process must have written nothing before the write
 * watch, suspended by its own writes, starts again. Every write(2) to a
 * watched file queues an event and wakes the watcher: measured on Bun and
 * Deno, that doubled the cost of each of this process's commits (40-70 µs
 * more per commit, in the kernel and the watcher thread), for events that
 * only ever said "we wrote". So a write of this process stops the watch,
 * and the next probe that finds the process quiet this long starts it
 * again (and probes once more, as at any start). Meanwhile the feed polls
 * at this gap, so another process's commit is seen within it, and the
 * probe's `data_version` sees every commit made while the watch was off.
 */
const OWN_WRITE_QUIET_MS = 5;

/** Subscribers plus probes that run only while there are subscribers. */
export class ChangeFeed {
  readonly #listeners = new Set<(change: BackendChange) => void>();
  readonly #options: ChangeFeedOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = Infinity;
  #polling = false;
  #probeAgain = false;
  #lastProbeAt = -Infinity;
  #stopWatching: (() => void) | undefined;
  #watchTried = false;
  #pushUnavailableSaid = false;
  #closed = false;
  /** The gap before the next follow-up probe after a write; 0: none due. */
  #chaseGap = 0;
  /** When this process last wrote (performance.now()). */
  #lastOwnWrite = -Infinity;

  /** @param options How to probe, how often, and what to watch. */
  constructor(options: ChangeFeedOptions) {
    this.#options = options;
  }

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: (change: BackendChange) => void): Unsubscribe {
    this.#listeners.add(listener);
    // Probe soon, not a whole interval from now: the first probe is what
    // starts the write watch.
    this.#schedule(this.#watchTried ? this.#interval() : 0);
    return () => {
      this.#listeners.delete(listener);
      // Nobody listens: no more probes. The watch stays (it costs nothing
      // while idle), so the next subscriber is covered from its first moment.
      if (this.#listeners.size === 0) this.#clearTimer();
    };
  }

  /**
   * Tells every listener about `change`. A listener that throws is skipped:
   * emit runs after a commit, and one listener's error must neither turn
   * that committed write into a failure for its caller (who might retry
   * and duplicate it) nor keep the other listeners from hearing of it.
   */
  emit(change: BackendChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // Ignored on purpose; see above.
      }
    }
  }

  /**
   * This process is about to write: stops a live write watch until the
   * process has been quiet for {@linkcode OWN_WRITE_QUIET_MS} (see there).
   */
  ownWrite(): void {
    this.#lastOwnWrite = performance.now();
    if (this.#stopWatching === undefined) return;
    this.#stopWatching();
    this.#stopWatching = undefined;
    this.#watchTried = false;
    this.#schedule(OWN_WRITE_QUIET_MS);
  }

  /** Stops probing and watching for good, and forgets every listener. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    this.#listeners.clear();
  }

  #interval(): number {
    const { pollInterval, watchedPollInterval } = this.#options;
    return this.#stopWatching === undefined
      ? pollInterval
      : watchedPollInterval;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }

  /** Makes sure a probe runs within `delay` ms (an earlier one stands). */
  #schedule(delay: number): void {
    if (this.#options.pollInterval <= 0 || this.#listeners.size === 0) return;
    if (this.#closed) return;
    if (this.#polling) return; // the running probe reschedules
    const due = performance.now() + delay;
    if (due >= this.#timerDue) return;
    this.#clearTimer();
    this.#timerDue = due;
    this.#timer = setTimeout(() => this.#poll(), delay);
  }

  #onWrite = (): void => {
    this.#chaseGap = MIN_PROBE_GAP_MS;
    if (this.#polling) {
      this.#probeAgain = true;
      return;
    }
    const sinceLast = performance.now() - this.#lastProbeAt;
    this.#schedule(Math.max(0, MIN_PROBE_GAP_MS - sinceLast));
  };

  /** The watch ended: poll at the unwatched rate, and watch again soon. */
  #onLost = (): void => {
    this.#stopWatching = undefined;
    this.#watchTried = false;
    this.#schedule(this.#interval());
  };

  /**
   * Starts the dialect's write watch, if it has one. A commit between the
   * probe that preceded this and the watch's start would go unseen until
   * the next poll, so a started watch asks for one more probe at once; a
   * watch that cannot start is said once, as a `notice`.
   */
  #startWatch(): void {
    const { watch } = this.#options;
    this.#watchTried = true;
    if (watch === undefined) return;
    this.#stopWatching = watch(this.#onWrite, this.#onLost);
    if (this.#stopWatching !== undefined) {
      this.#probeAgain = true;
    } else if (!this.#pushUnavailableSaid) {
      this.#pushUnavailableSaid = true;
      this.emit({
        type: "notice",
        code: "PUSH_UNAVAILABLE",
        message:
          `Push wake-ups are unavailable for ${this.#options.description}: ${
            this.#options.unwatchableReason ??
              "its writes cannot be watched (e.g. on a network file system, or its files were removed)"
          }; other processes' commits are found by polling every ${this.#options.pollInterval} ms instead`,
      });
    }
  }

  async #poll(): Promise<void> {
    this.#clearTimer();
    if (this.#listeners.size === 0) return;
    this.#polling = true;
    this.#probeAgain = false;
    let probed = false;
    let changed = false;
    try {
      changed = await this.#options.probe();
      probed = true;
      if (changed) this.emit({ type: "external" });
    } catch (error) {
      this.#options.onError(error);
    } finally {
      this.#polling = false;
      this.#lastProbeAt = performance.now();
    }
    if (this.#closed) return;
    // Watch only once a probe succeeded: the database (and its write-ahead
    // log) exists by then; and not while this process writes (see
    // OWN_WRITE_QUIET_MS): look again once it may have gone quiet.
    const quietFor = performance.now() - this.#lastOwnWrite;
    if (probed && !this.#watchTried) {
      if (quietFor >= OWN_WRITE_QUIET_MS) {
        this.#startWatch();
      } else {
        this.#schedule(OWN_WRITE_QUIET_MS - quietFor);
        return;
      }
    }
    if (this.#probeAgain) {
      this.#schedule(MIN_PROBE_GAP_MS);
      return;
    }
    if (changed && this.#chaseGap > 0) {
      // The kernel merges write events that arrive before they are read,
      // so the commit just seen may not be the last one its event stood
      // for: keep chasing from the shortest gap.
      this.#chaseGap = MIN_PROBE_GAP_MS;
    } else if (this.#chaseGap > 0) {
      this.#chaseGap *= 2;
      if (this.#chaseGap > MAX_CHASE_GAP_MS) this.#chaseGap = 0;
    }
    this.#schedule(this.#chaseGap > 0 ? this.#chaseGap : this.#interval());
  }
}
