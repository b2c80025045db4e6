/**
 * The claim loop: one worker's engine. It claims due tasks into free slots,
 * hands them to the executor, has the completer write decided outcomes
 * (batched with the next claim, in one transaction), and sleeps until
 * something may have changed.
 *
 * ## Modes
 *
 * | mode           | what the loop does                                          |
 * | -------------- | ----------------------------------------------------------- |
 * | `stopped`      | nothing: no loop, timer or subscription                     |
 * | `running`      | recovers, claims, writes outcomes, waits (steps below)      |
 * | `draining`     | claims nothing; writes outcomes until it holds no attempt   |
 * | `interrupting` | as `draining`, its running attempts interrupted             |
 *
 * Transitions:
 * - `stopped` → `running`: `start()`, once the backend is open.
 * - `running` → `draining`: a stop request (`stop()`, a `run()` trigger),
 *   the `maxTasks` budget spent (no deadline), or giving up (below).
 * - `draining` → `interrupting`: the stop's deadline, or a second signal.
 * - `draining` | `interrupting` → `stopped`: no attempt held. The loop
 *   ends: timers cleared, unsubscribed, `done` resolved.
 * - giving up: a step fails with the backend closed, or fails three times
 *   in a row past the deadline (see `shutdown.ts`): every attempt is let go
 *   unwritten, so the loop ends at its next turn.
 *
 * ## Steps (one per turn, while not `stopped`)
 * 1. Recover expired leases, when due: after start and at each poll
 *    (`running` only).
 * 2. Write: the decided outcomes, plus, when `running`, the queue may hold
 *    due work (`dirty`) and slots are free, a claim of as many tasks as
 *    there are free slots (never more than the `maxTasks` budget left).
 * 3. Otherwise wait, to be woken by `wake_ups.ts` (a backend change, the
 *    poll timer, a retry or delayed task coming due: a claim that comes up
 *    short also learns from the backend when its next queued task is due),
 *    a decided outcome, or a stop.
 *
 * A step that throws is reported by `step_errors.ts`, then the loop backs
 * off (cut short by a stop with nothing left to write) and tries again, or
 * gives up: the loop never dies of a database error.
 *
 * @module
 */
import { InvalidStateError } from "../core/errors.ts";
import type { TypedEmitter } from "../core/events.ts";
import type { Logger } from "../core/logger.ts";
import type { ClaimedTask, ClaimRequest } from "../storage/backend.ts";
import type { Completer } from "./completer.ts";
import type { Attempt, Executor } from "./executor.ts";
import type { LeaseKeeper } from "./lease_keeper.ts";
import type { StopTarget } from "./shutdown.ts";
import { StepErrors } from "./step_errors.ts";
import type { StopReason, WorkerEvents } from "./types.ts";
import type { UnhandledWork } from "./unhandled_work.ts";
import { WakeUps, type WakeUpsOptions } from "./wake_ups.ts";

/** What the loop is doing; see the module doc. */
type LoopMode = "stopped" | "running" | "draining" | "interrupting";

/**
 * What the claim loop needs from the worker around it; the clock, poll
 * interval and backend feed are for its {@linkcode WakeUps}.
 */
export interface ClaimLoopOptions extends Omit<WakeUpsOptions, "wake"> {
  /** The worker's id: the claim's lease owner. */
  workerId: string;
  /** Slots: the most attempts held at once. */
  concurrency: number;
  /** The queues it claims from; undefined: every queue. */
  queues?: readonly string[];
  /** Ms a claim's lease lasts. */
  leaseDuration: number;
  /** Claims allowed per start; Infinity for no limit. */
  maxTasks: number;
  /** Where the loop logs. */
  logger: Logger;
  /** Where failed steps are announced. */
  events: TypedEmitter<WorkerEvents>;
  /** Runs claimed attempts; holds them. */
  executor: Executor;
  /** Writes outcomes, and claims with them. */
  completer: Completer;
  /** Heartbeat, supersede rule, recovery. */
  leases: LeaseKeeper;
  /** Warns of due work nobody here handles. */
  unhandled: UnhandledWork;
  /** Fires the recurring schedules while the loop runs, if the worker does. */
  scheduler?: { start(): void; stop(): Promise<void> };
  /** Opens the backend. */
  open(): Promise<void>;
  /** What ends with the loop and `processOne()` (the thread pool's threads). */
  release(): Promise<void>;
}

/** Claims, runs and writes until stopped; see the module doc. */
export class ClaimLoop implements StopTarget {
  readonly #options: ClaimLoopOptions;
  #mode: LoopMode = "stopped";
  #stopReason: StopReason | undefined;
  #starting: Promise<void> | undefined;
  /** The running loop; settles once it has ended. */
  #ended: Promise<void> | undefined;
  #done: Promise<void> = Promise.resolve();
  #resolveDone: () => void = () => {};
  /** What the loop owes: claims (`dirty`) and recovery (`recoverDue`). */
  readonly #wakeUps: WakeUps;
  /** Resolves the current wait. */
  #wakeLoop: (() => void) | undefined;
  #stopHeartbeat: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #startedAt = 0;
  /** Guards each step: reports failures, backs off or gives up. */
  readonly #stepErrors: StepErrors;
  /** Claims left in this run's `maxTasks` budget (Infinity: no limit). */
  #budget = Infinity;

  /** @param options The worker's parts this one drives. */
  constructor(options: ClaimLoopOptions) {
    this.#options = options;
    this.#wakeUps = new WakeUps({ ...options, wake: () => this.wake() });
    this.#stepErrors = new StepErrors({
      ...options,
      pastDeadline: () => this.#mode === "interrupting",
      mayCutShort: () =>
        this.#mode !== "running" && options.completer.size === 0,
      abandon: () => {
        this.#stopReason ??= "closed";
        options.executor.abandonAll();
        options.completer.clear();
        if (this.#mode === "running") this.#mode = "draining";
      },
    });
  }

  /** Whether the loop runs: started and not yet ended. */
  get running(): boolean {
    return this.#mode !== "stopped";
  }

  /** A start in flight. */
  get starting(): Promise<void> | undefined {
    return this.#starting;
  }

  /** Settles once the running loop has ended. */
  get ended(): Promise<void> | undefined {
    return this.#ended;
  }

  /** Resolves when the loop ends; resolved before the first start. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Why the current or last run stops; the first cause wins. */
  get stopReason(): StopReason | undefined {
    return this.#stopReason;
  }

  /** Ms since the last start, 0 before. */
  uptime(): number {
    return this.#startedAt === 0 ? 0 : performance.now() - this.#startedAt;
  }

  /** How many attempts are running. */
  runningCount(): number {
    return this.#options.executor.runningCount();
  }

  /**
   * Opens the backend and starts the loop; does nothing if it runs.
   *
   * @param stopBeforeClaim A stop reason already due: the loop starts
   *   draining and ends before its first claim.
   * @throws {InvalidStateError} If the loop is stopping.
   */
  async start(stopBeforeClaim?: StopReason): Promise<void> {
    // Checked before `running`, which stays true until the loop has ended:
    // returning quietly here would tell the caller a stopping worker runs.
    if (this.#mode === "draining" || this.#mode === "interrupting") {
      throw new InvalidStateError(
        `Cannot start worker "${this.#options.workerId}": it is stopping; await stop() first`,
      );
    }
    if (this.#mode === "running") return;
    // One start at a time, and visible to a stop: a stop that comes while
    // the backend opens must wait for the start and then stop the worker.
    this.#starting ??= this.#startOnce(stopBeforeClaim).finally(() => {
      this.#starting = undefined;
    });
    await this.#starting;
  }

  async #startOnce(stopBeforeClaim: StopReason | undefined): Promise<void> {
    const { executor, leases, logger, maxTasks } = this.#options;
    executor.bind("start worker");
    await this.#options.open();
    if (this.#mode !== "stopped") return;
    this.#mode = "running";
    this.#budget = maxTasks;
    this.#stopReason = undefined;
    this.#options.unhandled.start(executor.names);
    this.#options.scheduler?.start();
    this.#startedAt = performance.now();
    this.#done = new Promise((resolve) => this.#resolveDone = resolve);
    this.#wakeUps.start();
    this.#stopHeartbeat = leases.startHeartbeat();
    logger.info?.({
      workerId: this.#options.workerId,
      concurrency: this.#options.concurrency,
      tasks: executor.names,
      ...(maxTasks === Infinity ? {} : { maxTasks }),
    }, "worker started");
    // A stop already due at the start (`run({ duration: 0 })`) drains before
    // the first turn: a timer armed after start() could lose to the claim.
    if (stopBeforeClaim !== undefined) this.drain(stopBeforeClaim);
    this.#ended = this.#run();
  }

  /**
   * Claims one due task, runs it and writes its outcome, with the loop's
   * own recovery, claim and heartbeat, while the loop is stopped.
   *
   * @returns Whether a task was run.
   */
  async processOne(): Promise<boolean> {
    const { executor, completer, leases } = this.#options;
    executor.bind("run processOne()");
    await leases.recoverExpired();
    const [task] = await completer.write(this.#claimRequest(1));
    if (task === undefined) return false;
    const stopHeartbeat = leases.startHeartbeat();
    try {
      await this.#begin(task).finished;
      await completer.write();
    } finally {
      stopHeartbeat();
      await this.#options.release();
    }
    return true;
  }

  /** Stops claiming (mode `draining`); the first reason is kept. */
  drain(reason: StopReason): void {
    if (this.#mode === "running") this.#mode = "draining";
    this.#stopReason ??= reason;
  }

  /** The stop's deadline: interrupts the running attempts. */
  interrupt(): void {
    if (this.#mode === "stopped") return;
    this.#mode = "interrupting";
    this.#options.executor.interruptAll();
  }

  /** Makes the loop look at its state again. */
  wake(): void {
    this.#wakeLoop?.();
    this.#stepErrors.wake();
  }

  /** Wakes the loop when a task delayed until `at` (epoch ms) comes due. */
  wakeAt(at: number): void {
    this.#wakeUps.wakeAt(at);
  }

  /**
   * Resolves when the worker has nothing to do: nothing held or waiting to
   * be written, no recovery due, and its last claim found no due task. At
   * once when stopped or idle.
   */
  whenIdle(): Promise<void> {
    if (this.#mode === "stopped" || this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  // ---- the loop ----------------------------------------------------------

  async #run(): Promise<void> {
    const { logger, completer } = this.#options;
    try {
      await this.#turns();
    } finally {
      this.#wakeUps.stop();
      this.#stopHeartbeat?.();
      await this.#options.unhandled.stop();
      await this.#options.scheduler?.stop();
      // Still stopping (a start() now is refused) until the threads exit.
      await this.#options.release();
      this.#mode = "stopped";
      this.#stopReason ??= "stop";
      this.#notifyIdle();
      logger.info?.({
        workerId: this.#options.workerId,
        reason: this.#stopReason,
        ...completer.counters,
      }, "worker stopped");
      this.#resolveDone();
    }
  }

  async #turns(): Promise<void> {
    const { executor, completer, concurrency } = this.#options;
    const wakeUps = this.#wakeUps;
    while (true) {
      const running = this.#mode === "running";
      // Outcomes waiting to be written free their slots in the same
      // transaction as the claim. Never ask for more than the maxTasks
      // budget has left: a claim cannot be taken back once its handler runs.
      const free = Math.min(
        concurrency - executor.held.size + completer.size,
        this.#budget,
      );
      const claim = running && wakeUps.dirty && free > 0;
      if (!running && executor.held.size === 0) break;
      if (wakeUps.recoverDue && running) {
        wakeUps.recoverDue = false;
        await this.#stepErrors.guard(this.#recover());
        continue;
      }
      if (claim || completer.size > 0) {
        await this.#stepErrors.guard(this.#tick(claim ? free : 0));
        continue;
      }
      if (this.#isIdle()) this.#notifyIdle();
      await new Promise<void>((resolve) => this.#wakeLoop = resolve);
      this.#wakeLoop = undefined;
    }
  }

  async #recover(): Promise<void> {
    if (await this.#options.leases.recoverExpired()) this.#wakeUps.dirty = true;
  }

  async #tick(limit: number): Promise<void> {
    const { completer, executor, logger, workerId, maxTasks } = this.#options;
    const claimRequest = limit > 0 ? this.#claimRequest(limit) : undefined;
    const signals = this.#wakeUps.signals;
    const claimed = await completer.write(claimRequest);
    if (claimRequest === undefined) return;
    // A full batch means there may be more; a short one means the queue is
    // drained of due work until something signals otherwise. A signal that
    // arrived while the claim was in flight (a task committed just after the
    // claim's transaction) must survive, or it is lost until the next poll.
    this.#wakeUps.dirty = claimed.length === limit ||
      this.#wakeUps.signals !== signals;
    this.#budget -= claimed.length;
    for (const task of claimed) this.#begin(task);
    if (claimed.length > 0) {
      logger.debug?.({
        workerId,
        taskIds: claimed.map((task) => task.id),
      }, "claimed tasks");
    }
    if (this.#budget <= 0 && this.#mode === "running") {
      // The budget is spent: claim nothing more and end the loop once these
      // are written, with no deadline (they are within the budget). A stop()
      // meanwhile brings its deadline as usual.
      this.drain("maxTasks");
      logger.info?.({
        workerId,
        maxTasks,
        running: executor.runningCount(),
      }, "worker claimed maxTasks tasks: stopping once they finish");
    }
    // Its own due work is done: wake when its next delayed task comes due
    // (enqueued before start, or by another process: no change announced
    // it), then look for due work nobody here handles.
    if (claimed.length < limit) {
      if (completer.nextRunAt !== undefined) {
        this.#wakeUps.wakeAt(completer.nextRunAt);
      }
      await this.#options.unhandled.check(claimRequest.now);
    }
  }

  /** Starts a claimed task, superseding any older attempt of it held here. */
  #begin(task: ClaimedTask): Attempt {
    this.#options.leases.supersede(task.id);
    return this.#options.executor.start(task);
  }

  #claimRequest(limit: number): ClaimRequest {
    const request: ClaimRequest = {
      workerId: this.#options.workerId,
      names: this.#options.executor.names,
      limit,
      now: this.#options.clock.now(),
      leaseDuration: this.#options.leaseDuration,
    };
    if (this.#options.queues !== undefined) {
      request.queues = this.#options.queues;
    }
    return request;
  }

  #isIdle(): boolean {
    return this.#options.executor.held.size === 0 &&
      this.#options.completer.size === 0 && !this.#wakeUps.dirty &&
      !this.#wakeUps.recoverDue;
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
