/**
 * A worker's parts, built from its options and wired together: which
 * storage function each part is given, and which part calls which. The
 * public `Worker` holds the result and delegates to it.
 *
 * ```text
 *   Worker ─▶ Shutdown ─▶ ClaimLoop ─▶ WakeUps ◀─ backend.subscribe
 *                            │
 *                            ├─▶ LeaseKeeper ─▶ backend.renewLeases, .recoverExpiredLeases
 *                            ├─▶ Completer ───▶ backend.settleAndClaim
 *                            ├─▶ Executor ────▶ backend.saveProgress
 *                            └─▶ UnhandledWork ▶ backend.countDueExcept, .listWorkers
 *                                   └─▶ WorkerPresence ▶ backend.registerWorker,
 *                                                 .heartbeatWorker, .removeWorker
 *
 *   Executor ─(outcome decided)─▶ Completer.add, ClaimLoop.wake
 *   Executor ─(retry at t)──────▶ ClaimLoop.wakeAt
 *   LeaseKeeper ─(supersede, lease lost)─▶ Executor.drop, Completer.dropSuperseded
 * ```
 *
 * Each storage function is a closure that reads the backend's method when
 * called, so a backend whose methods are wrapped later is still honoured.
 *
 * @module
 */
import { TypedEmitter } from "../core/events.ts";
import type { Logger } from "../core/logger.ts";
import { SuperJsonSerializer } from "../core/serializer.ts";
import { systemClock } from "../core/types.ts";
import type { Backend } from "../storage/backend.ts";
import { ClaimLoop } from "./claim_loop.ts";
import { CancelWatch } from "./cancel_watch.ts";
import { Completer } from "./completer.ts";
import { Executor } from "./executor.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { Shutdown } from "./shutdown.ts";
import { resolveThreadOptions } from "./threads/options.ts";
import { ThreadRunner } from "./threads/thread_runner.ts";
import type { WorkerEvents, WorkerOptions } from "./types.ts";
import { UnhandledWork } from "./unhandled_work.ts";
import { Scheduler } from "./scheduler.ts";
import { DEFAULT_LEASE_DURATION } from "./worker_checks.ts";

/** The parts the `Worker` talks to. */
export interface Engine {
  /** The worker's events, emitted by its parts. */
  readonly events: TypedEmitter<WorkerEvents>;
  /** Its held attempts and bound task names. */
  readonly executor: Executor;
  /** Its written-outcome counters. */
  readonly completer: Completer;
  /** Its lifecycle: start, `done`, `stopReason`, `processOne`. */
  readonly loop: ClaimLoop;
  /** Its stop requests. */
  readonly shutdown: Shutdown;
}

/** What the `Worker` has already resolved from its options. */
export interface EngineSettings {
  /** The worker's id. */
  workerId: string;
  /** Slots. */
  concurrency: number;
  /** The user's logger, guarded. */
  logger: Logger;
}

/**
 * Builds a worker's parts over `backend`, with the defaults of
 * {@linkcode WorkerOptions} for what `options` leaves out.
 *
 * @param backend The backend the parts' storage functions call.
 * @param options The worker's options, already checked.
 * @param settings What the `Worker` resolved itself.
 */
export function buildEngine(
  backend: Backend,
  options: WorkerOptions,
  settings: EngineSettings,
): Engine {
  const { workerId, concurrency, logger } = settings;
  const pollInterval = options.pollInterval ?? 1000;
  const leaseDuration = options.leaseDuration ?? DEFAULT_LEASE_DURATION;
  const clock = options.clock ?? systemClock;
  // Lease renewals and the worker's row in the registry of workers beat
  // together, so a live worker's row is never older than its leases.
  const heartbeatInterval = options.heartbeatInterval ?? leaseDuration / 3;
  let noticed = false;
  const events = new TypedEmitter<WorkerEvents>((error) =>
    logger.error?.({ workerId, err: error }, "a worker event listener threw")
  );
  const serializer = options.serializer ?? new SuperJsonSerializer();
  const threads = new ThreadRunner({
    threads: resolveThreadOptions(options.threads),
    workerId,
    serializer,
    logger,
    saveProgress: (token, progress) => backend.saveProgress(token, progress),
  });
  const executor = new Executor({
    workerId,
    tasks: options.tasks,
    serializer,
    clock,
    logger,
    saveProgress: (token, progress) => backend.saveProgress(token, progress),
    readParents: (id) => backend.getParents(id),
    onDecided: (attempt, outcome, value) => {
      if (outcome !== undefined) completer.add(attempt, outcome, value);
      loop.wake();
    },
    onRetryAt: (at) => loop.wakeAt(at),
    threads,
  });
  executor.bind("create Worker");
  const completer = new Completer({
    workerId,
    clock,
    logger,
    events,
    settleAndClaim: (settlements, claim) =>
      backend.settleAndClaim(settlements, claim),
    forget: (attempt) => executor.forget(attempt),
  });
  // Running tasks cancelled from any process (cancel_watch.ts).
  const cancels = new CancelWatch({
    workerId,
    executor,
    logger,
    cancelledAmong: (ids) => backend.cancelledAmong(ids),
  });
  const leases = new LeaseKeeper({
    workerId,
    leaseDuration,
    heartbeatInterval,
    clock,
    logger,
    events,
    executor,
    completer,
    renewLeases: (tokens, until) => backend.renewLeases(tokens, until),
    recoverExpiredLeases: (now, error) =>
      backend.recoverExpiredLeases(now, error),
    cancels,
  });
  const loop = new ClaimLoop({
    workerId,
    concurrency,
    // A copy: the claim compiles its SQL per list (queues: schema v8).
    ...(options.queues === undefined
      ? {}
      : { queues: Object.freeze([...new Set(options.queues)]) }),
    pollInterval,
    leaseDuration,
    maxTasks: options.maxTasks ?? Infinity,
    clock,
    logger,
    events,
    executor,
    completer,
    leases,
    scheduler: options.schedules === false
      ? undefined
      : new Scheduler(backend, { workerId, logger, clock, pollInterval }),
    unhandled: new UnhandledWork(backend, {
      workerId,
      logger,
      interval: 10 * pollInterval,
      heartbeatInterval,
      clock,
    }),
    open: () => backend.open(),
    release: () => threads.release(),
    // The cancel watch hears the same changes, for as long as the loop.
    subscribe: (listener) => {
      const unsubscribe = backend.subscribe(listener);
      const unwatch = backend.subscribe(cancels.onChange);
      return () => {
        unsubscribe();
        unwatch();
      };
    },
    // The backend's notice that it can only poll for other processes' work
    // (see `BackendChange`): worth one warning per worker, not one per start.
    onNotice: (change) => {
      if (noticed) return;
      noticed = true;
      logger.warn?.({ backend: backend.description }, change.message);
    },
  });
  const shutdown = new Shutdown({ workerId, logger, target: loop });
  return { events, executor, completer, loop, shutdown };
}
