/**
 * A worker's row in the registry of running workers (`sitq_workers`,
 * schema v7): written when the worker starts, its heartbeat refreshed on
 * its own timer every heartbeat interval (idle or busy, so an idle worker
 * still counts as alive), deleted when it stops. A process killed with
 * `kill -9` leaves its row behind; readers count a row whose heartbeat is
 * older than a few intervals as dead ({@linkcode staleAfterFor}).
 *
 * Registry writes never stop the worker: a failure is logged at debug
 * level and the next heartbeat writes the row again.
 *
 * @module
 */
import type { Logger } from "../core/logger.ts";
import type { Clock } from "../core/types.ts";
import { importRuntimeModule } from "../runtime/runtime.ts";
import { processId } from "../runtime/process.ts";
import type { Backend } from "../storage/backend.ts";

/** How many missed heartbeats make a worker's row count as dead. */
export const MISSED_HEARTBEATS = 3;

/**
 * The age (ms) after which a row with this heartbeat interval counts as
 * dead: {@linkcode MISSED_HEARTBEATS} intervals.
 */
export function staleAfterFor(heartbeatInterval: number): number {
  return MISSED_HEARTBEATS * heartbeatInterval;
}

/** What a {@linkcode WorkerPresence} writes and how often. */
export interface WorkerPresenceOptions {
  /** The worker's id: the row's key. */
  workerId: string;
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
  /** "Now" for the row's times. */
  clock: Clock;
  /** Where failed writes are logged (debug). */
  logger: Logger;
}

/** One worker's row in the registry; see the module doc. */
export class WorkerPresence {
  readonly #backend: Backend;
  readonly #options: WorkerPresenceOptions;
  #names: readonly string[] = [];
  #startedAt = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The registry write in flight: a beat or the removal waits for it. */
  #pending: Promise<void> = Promise.resolve();

  /**
   * @param backend The backend the worker claims from.
   * @param options The worker's id, heartbeat interval, clock and logger.
   */
  constructor(backend: Backend, options: WorkerPresenceOptions) {
    this.#backend = backend;
    this.#options = options;
  }

  /** Registers the worker with `names` and starts its heartbeat timer. */
  start(names: readonly string[]): void {
    this.#names = [...names];
    this.#startedAt = this.#options.clock.now();
    this.#chain(() => this.#register());
    clearInterval(this.#timer);
    this.#timer = setInterval(
      () => this.#chain(() => this.#beat()),
      this.#options.heartbeatInterval,
    );
  }

  /** Stops the heartbeat and deletes the row; never throws. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const { workerId } = this.#options;
    this.#chain(() => this.#backend.removeWorker(workerId));
    await this.#pending;
  }

  /** Runs `write` after the one in flight, logging its failure. */
  #chain(write: () => Promise<unknown>): void {
    this.#pending = this.#pending.then(write).then(
      () => {},
      (err) =>
        this.#options.logger.debug?.(
          { workerId: this.#options.workerId, err },
          "could not write this worker's row in the registry of workers",
        ),
    );
  }

  async #register(): Promise<void> {
    const now = this.#options.clock.now();
    await this.#backend.registerWorker({
      workerId: this.#options.workerId,
      names: this.#names,
      host: await hostName(),
      pid: processId() ?? 0,
      startedAt: this.#startedAt,
      heartbeatAt: now,
    });
  }

  async #beat(): Promise<void> {
    const { workerId, clock } = this.#options;
    // No row: it was removed meanwhile (or the first write failed).
    if (!(await this.#backend.heartbeatWorker(workerId, clock.now()))) {
      await this.#register();
    }
  }
}

let host: Promise<string> | undefined;

/**
 * This machine's host name, or "" where the runtime will not tell (Deno
 * without `--allow-sys`, a browser-like runtime).
 */
function hostName(): Promise<string> {
  return host ??= importRuntimeModule("node:os").then(
    (os) => String((os as { hostname(): string }).hostname()),
  ).catch(() => "");
}
