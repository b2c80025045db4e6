/**
 * A worker's scheduler: fires the recurring schedules stored in the
 * database (`queue.schedules`), exactly one task per due slot however
 * many workers in however many processes do the same.
 *
 * - It keeps the schedules in memory and one timer, for the earliest next
 *   slot among the active ones; with no schedule it holds no timer and
 *   makes no query (none per claim, ever).
 * - It reads them again when the backend says they changed: at once for
 *   a change made through this backend object (`schedules`), and for
 *   another connection's commit (`external`, which also follows every
 *   task another process writes) at most once per `pollInterval`, so a
 *   schedule set in another process is picked up within the usual
 *   wake-up time.
 * - At a slot it computes what is due (`schedule/due_slots.ts`: on-time
 *   slots and the catch-up of missed ones) and asks the backend to fire
 *   it: one transaction advances the schedule's slot by compare-and-set
 *   and inserts one task per slot, keyed `schedule:<name>:<slot epoch
 *   ms>`. A worker that computed the same slot as another finds the slot
 *   moved and inserts nothing; the key would refuse a second task anyway.
 *
 * A failure (the database away) is logged at `warn` and tried again after
 * `pollInterval`; it never stops the worker.
 *
 * @module
 */
import type { Unsubscribe } from "../core/events.ts";
import type { Logger } from "../core/logger.ts";
import type { Clock } from "../core/types.ts";
import { decodeCatchUp } from "../schedule/options.ts";
import { dueSlots } from "../schedule/due_slots.ts";
import { type Recurrence, recurrenceOf } from "../schedule/recurrence.ts";
import type {
  Backend,
  BackendChange,
  NewTaskRow,
  ScheduleRow,
} from "../storage/backend.ts";

/** The longest delay `setTimeout` keeps (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The unique key of a schedule's slot. */
export function slotKey(name: string, slot: number): string {
  return `schedule:${name}:${slot}`;
}

/** What a {@linkcode Scheduler} needs from its worker. */
export interface SchedulerOptions {
  /** The worker's id, for log lines. */
  workerId: string;
  /** Where failures and firings are logged. */
  logger: Logger;
  /** "Now" for slots. */
  clock: Clock;
  /** The least gap (ms) between two reads for other processes' changes, and the retry pause. */
  pollInterval: number;
}

/** Fires the stored schedules while its worker runs; see the module doc. */
export class Scheduler {
  readonly #backend: Backend;
  readonly #options: SchedulerOptions;
  #running = false;
  #schedules: ScheduleRow[] = [];
  /** Recurrences by schedule name and revision. */
  #recurrences = new Map<
    string,
    { revision: number; recurrence: Recurrence }
  >();
  /**
   * Schedules whose slots this runtime cannot compute (a time zone it
   * lacks), by name and revision: reported once, skipped until changed.
   */
  #unusable = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: Unsubscribe | undefined;
  /** The work in flight (a read, a firing): one at a time. */
  #pending: Promise<void> = Promise.resolve();
  /** Whether a read is queued behind the work in flight. */
  #readQueued = false;
  /** `performance.now()` of the last read. */
  #lastRead = -Infinity;
  #readSoonTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param backend Where the schedules are stored.
   * @param options The worker's id, logger, clock and poll interval.
   */
  constructor(backend: Backend, options: SchedulerOptions) {
    this.#backend = backend;
    this.#options = options;
  }

  /** Subscribes to the backend's changes and reads the schedules. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    // A read queued when the last run stopped never ran.
    this.#readQueued = false;
    this.#unsubscribe = this.#backend.subscribe(this.#onChange);
    this.#read();
  }

  /** Clears the timers and unsubscribes; resolves once the work in flight ended. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#readSoonTimer);
    this.#timer = this.#readSoonTimer = undefined;
    await this.#pending;
  }

  readonly #onChange = (change: BackendChange): void => {
    if (change.type === "schedules") this.#read();
    else if (change.type === "external") this.#readSoon();
  };

  /** A read within `pollInterval` of the last one, at most one waiting. */
  #readSoon(): void {
    if (this.#readSoonTimer !== undefined || this.#readQueued) return;
    const wait = this.#lastRead + this.#options.pollInterval -
      performance.now();
    if (wait <= 0) {
      this.#read();
      return;
    }
    this.#readSoonTimer = setTimeout(() => {
      this.#readSoonTimer = undefined;
      this.#read();
    }, wait);
  }

  /** Reads the schedules (after the work in flight) and re-arms the timer. */
  #read(): void {
    if (!this.#running || this.#readQueued) return;
    this.#readQueued = true;
    this.#chain(async () => {
      this.#readQueued = false;
      this.#lastRead = performance.now();
      this.#schedules = await this.#backend.listSchedules();
    });
  }

  /** Runs `work` after the work in flight; then arms the timer. */
  #chain(work: () => Promise<void>): void {
    this.#pending = this.#pending.then(async () => {
      if (!this.#running) return;
      try {
        await work();
        this.#arm();
      } catch (err) {
        this.#options.logger.warn?.(
          { workerId: this.#options.workerId, err },
          "could not read or fire the recurring schedules; trying again",
        );
        this.#retryLater();
      }
    });
  }

  /** After a failure: read them all again in `pollInterval` ms. */
  #retryLater(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#read();
    }, this.#options.pollInterval);
  }

  /** Sets the timer for the earliest next slot. */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#running) return;
    let earliest = Infinity;
    for (const row of this.#schedules) {
      if (
        row.paused === 0 && row.next_run_at !== null &&
        this.#unusable.get(row.name) !== row.revision
      ) {
        earliest = Math.min(earliest, row.next_run_at);
      }
    }
    if (earliest === Infinity) return;
    let delay = earliest - this.#options.clock.now();
    delay = Math.min(Math.max(0, delay), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#chain(() => this.#fireDue());
    }, delay);
  }

  /** Fires every due schedule, then reads them all again. */
  async #fireDue(): Promise<void> {
    const now = this.#options.clock.now();
    let fired = false;
    let failure: unknown;
    for (const row of this.#schedules) {
      if (row.paused !== 0 || row.next_run_at === null) continue;
      if (row.next_run_at > now) continue;
      if (this.#unusable.get(row.name) === row.revision) continue;
      fired = true;
      try {
        await this.#fire(row, now);
      } catch (err) {
        // One schedule's failure (a time zone this runtime lacks, the
        // database away) must not hold the others back.
        failure ??= err;
      }
    }
    // The rows moved on (here or elsewhere); a failed read re-arms the
    // retry, as a failed firing does.
    this.#lastRead = performance.now();
    if (fired) this.#schedules = await this.#backend.listSchedules();
    // Read again and retried after pollInterval, not at once (`#chain`).
    if (failure !== undefined) throw failure;
  }

  async #fire(row: ScheduleRow, now: number): Promise<void> {
    const due = dueSlots(
      this.#recurrence(row),
      decodeCatchUp(row.catch_up),
      row.next_run_at!,
      now,
    );
    if (due === undefined) return;
    const tasks = due.fire.map((slot): NewTaskRow => ({
      name: row.task_name,
      args: row.args,
      priority: row.priority,
      runAt: slot,
      maxAttempts: row.max_attempts,
      timeout: row.timeout_ms,
      queue: row.queue,
      createdAt: now,
      uniqueKey: slotKey(row.name, slot),
      onDuplicate: "keep",
    }));
    const fired = await this.#backend.fireSchedule({
      name: row.name,
      revision: row.revision,
      expectedNextRunAt: row.next_run_at!,
      nextRunAt: due.nextRunAt,
      lastSlot: due.lastSlot,
      tasks,
    });
    this.#options.logger.debug?.({
      workerId: this.#options.workerId,
      schedule: row.name,
      slots: due.fire,
      fired: fired !== undefined,
      created: fired?.outcomes.filter((outcome) => outcome.created).length ??
        0,
    }, "schedule due");
  }

  #recurrence(row: ScheduleRow): Recurrence {
    const cached = this.#recurrences.get(row.name);
    if (cached !== undefined && cached.revision === row.revision) {
      return cached.recurrence;
    }
    let recurrence: Recurrence;
    try {
      recurrence = recurrenceOf({
        cron: row.cron,
        every: row.every_ms,
        timezone: row.timezone,
      });
    } catch (err) {
      this.#unusable.set(row.name, row.revision);
      this.#options.logger.error?.(
        { workerId: this.#options.workerId, schedule: row.name, err },
        "this worker cannot compute the slots of a recurring schedule (set in a runtime that knows its time zone?); it skips it until the schedule changes",
      );
      throw err;
    }
    this.#recurrences.set(row.name, { revision: row.revision, recurrence });
    return recurrence;
  }
}
