/**
 * Noticing work that no worker will take: due tasks queued under a name that
 * no running worker handles (a typo, a task defined after its worker
 * started, a worker that was never deployed). Such tasks would stay queued
 * forever while every worker looks idle; a running worker reports them
 * through its logger instead.
 *
 * A worker knows the names it handles, and this module knows the names of
 * every running worker on the same backend object in this process; workers
 * in other processes are read from the registry of running workers
 * (`worker_presence.ts`, schema v7), where each worker keeps its row while
 * it runs. A row whose heartbeat is older than a few of this worker's
 * heartbeat intervals is a killed process's: its names count as unhandled.
 *
 * @module
 */
import type { Backend } from "../storage/backend.ts";
import type { Logger } from "../core/logger.ts";
import type { Clock } from "../core/types.ts";
import { staleAfterFor, WorkerPresence } from "./worker_presence.ts";

/** The running monitors of each backend object: who handles what here. */
const running = new WeakMap<Backend, Set<UnhandledWork>>();

/**
 * At most this many due tasks are read per check: when another process's
 * worker has a large backlog under its own names, a check stays cheap.
 */
const CHECK_LIMIT = 1000;

/** What an {@linkcode UnhandledWork} reports through and how often it looks. */
export interface UnhandledWorkOptions {
  /** The worker's id, for the log line. */
  workerId: string;
  /** Where the warning goes. */
  logger: Logger;
  /** Milliseconds between checks after the first (which comes at once). */
  interval: number;
  /** Milliseconds between the worker's heartbeats in the registry. */
  heartbeatInterval: number;
  /** "Now" for the registry's times. */
  clock: Clock;
}

/**
 * One worker's watch for due tasks that no running worker (of any process)
 * handles, and its row in the registry of workers. The worker calls `start`
 * and `stop` with its own lifecycle and `check` each time its claim comes
 * back short (its own due work is done).
 */
export class UnhandledWork {
  readonly #backend: Backend;
  readonly #options: UnhandledWorkOptions;
  readonly #presence: WorkerPresence;
  #names: readonly string[] = [];
  /** Names already reported and still unhandled: each is reported once. */
  #reported = new Set<string>();
  /** `performance.now()` of the last check; undefined before the first. */
  #lastCheck: number | undefined;
  #checking = false;

  /**
   * @param backend The backend the worker claims from.
   * @param options Where to report and how often to look.
   */
  constructor(backend: Backend, options: UnhandledWorkOptions) {
    this.#backend = backend;
    this.#options = options;
    this.#presence = new WorkerPresence(backend, options);
  }

  /**
   * Registers the names the worker now handles, here and in the registry of
   * workers; the next check runs at once.
   */
  start(names: readonly string[]): void {
    this.#presence.start(names);
    this.#names = names;
    this.#reported = new Set();
    this.#lastCheck = undefined;
    let monitors = running.get(this.#backend);
    if (monitors === undefined) {
      monitors = new Set();
      running.set(this.#backend, monitors);
    }
    monitors.add(this);
  }

  /**
   * Unregisters the worker, here and in the registry: its names no longer
   * count as handled. Never throws.
   */
  stop(): Promise<void> {
    running.get(this.#backend)?.delete(this);
    return this.#presence.stop();
  }

  /**
   * Counts due tasks (queued, run time at or before `now`) whose names no
   * running worker handles (in this process, or alive in the registry of
   * workers), and warns once for each name
   * newly found. Runs at most once per interval; the first call after
   * `start` always runs. Never throws: a failed count is logged at debug
   * level and the next interval tries again.
   *
   * @param now The worker's clock, in epoch milliseconds.
   */
  async check(now: number): Promise<void> {
    const at = performance.now();
    if (
      this.#checking ||
      (this.#lastCheck !== undefined &&
        at - this.#lastCheck < this.#options.interval)
    ) return;
    this.#lastCheck = at;
    this.#checking = true;
    const { workerId, logger } = this.#options;
    try {
      const handled = new Set<string>();
      for (const monitor of running.get(this.#backend) ?? []) {
        for (const name of monitor.#names) handled.add(name);
      }
      const here = [...handled];
      const live = await this.#backend.listWorkers(
        this.#options.clock.now(),
        staleAfterFor(this.#options.heartbeatInterval),
      );
      for (const worker of live) {
        for (const name of worker.names) handled.add(name);
      }
      const counts = await this.#backend.countDueExcept({
        names: [...handled],
        now,
        limit: CHECK_LIMIT,
      });
      const fresh = counts.filter(({ name }) => !this.#reported.has(name));
      // A name that was handled meanwhile may be reported again later.
      this.#reported = new Set(counts.map(({ name }) => name));
      if (fresh.length === 0) return;
      logger.warn?.(
        {
          workerId,
          // Built from entries so a task named "__proto__" is a plain key.
          unhandled: Object.fromEntries(
            fresh.map(({ name, count }) => [name, count]),
          ),
          handledHere: here,
          handledElsewhere: [...handled].filter((name) => !here.includes(name))
            .sort(),
        },
        "due tasks are queued under names that no running worker handles (in this process or, by the registry of workers, in any other); they stay queued until a worker with a handler for them runs",
      );
    } catch (err) {
      logger.debug?.(
        { workerId, err },
        "could not count queued tasks without a handler",
      );
    } finally {
      this.#checking = false;
    }
  }
}
