/**
 * `queue.queues`: pause, resume, limit and count named queues (schema v8)
 * from any process. Settings live in the database (`sitq_queues`), so
 * every worker of every process obeys them: a pause from its commit on
 * (workers notice within their usual wake-up time; running tasks finish),
 * limits inside each claim's transaction.
 *
 * @module
 */
import { checkQueueName } from "../core/queue_names.ts";
import type { Clock, TaskStatus } from "../core/types.ts";
import {
  checkInteger,
  checkKnownKeys,
  checkOptionsObject,
  optionKeys,
  show,
} from "../core/validate.ts";
import type {
  Backend,
  QueueRow,
  QueueSettingsChange,
} from "../storage/backend.ts";

/** A rate limit: at most `limit` task starts within any `intervalMs` ms. */
export interface QueueRateLimit {
  /** The most starts per window: an integer >= 1. */
  limit: number;
  /** The window's length in ms: an integer >= 1. */
  intervalMs: number;
}

/**
 * What {@linkcode QueueControl.setLimits} changes. An omitted field keeps
 * what is stored; `null` removes the limit.
 */
export interface QueueLimits {
  /**
   * At most this many of the queue's tasks running at once, across every
   * worker and process: an integer >= 1, or null for no limit.
   */
  concurrency?: number | null;
  /**
   * At most `limit` starts within any `intervalMs` ms (a sliding window),
   * across every worker and process; null for no limit.
   */
  rateLimit?: QueueRateLimit | null;
}

/** A queue, its settings and its tasks, as {@linkcode QueueControl.list} reads it. */
export interface QueueInfo {
  /** The queue's name. */
  name: string;
  /** Whether workers claim nothing from it. */
  paused: boolean;
  /** Its global concurrency limit, or null. */
  concurrency: number | null;
  /** Its rate limit, or null. */
  rateLimit: QueueRateLimit | null;
  /** Its tasks per status; statuses with none are absent. */
  counts: Partial<Record<TaskStatus, number>>;
  /**
   * How long (ms) the longest-waiting due task has waited since its run
   * time (for a task enqueued without a delay, since its enqueue); null
   * when no queued task is due.
   */
  oldestQueuedAgeMs: number | null;
  /** Queued tasks whose run time has passed: due but not yet claimed. */
  dueUnclaimed: number;
}

/** What {@linkcode QueueControl} needs from its queue. */
export interface QueueControlHost {
  /** Where tasks and settings are stored. */
  readonly backend: Backend;
  /** The time source. */
  readonly clock: Clock;
}

const LIMIT_KEYS = optionKeys<QueueLimits>({
  concurrency: true,
  rateLimit: true,
});
const RATE_KEYS = ["limit", "intervalMs"] as const;

/**
 * Named queues across processes: `queue.queues` on a `TaskQueue` or
 * `QueueAdmin`. A task's queue is `TaskOptions.queue` or
 * `RunOptions.queue` (default `"default"`); a worker takes
 * `WorkerOptions.queues` (default: all).
 *
 * @example Pause, limit and inspect a queue
 * ```ts
 * import { SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const email = queue.task("email", (to: string) => to, { queue: "emails" });
 * await queue.enqueue(email, "a@example.com");
 * await queue.queues.pause("emails");
 * await queue.queues.setLimits("emails", {
 *   concurrency: 2,
 *   rateLimit: { limit: 10, intervalMs: 1_000 },
 * });
 * const info = await queue.queues.get("emails");
 * console.log(info.paused, info.counts.queued, info.dueUnclaimed); // true 1 1
 * await queue.queues.resume("emails");
 * await queue.close();
 * ```
 */
export class QueueControl {
  readonly #host: QueueControlHost;

  /**
   * Made by `queue.queues`; there is no need to construct one yourself.
   *
   * @param host The queue whose backend and clock it uses.
   */
  constructor(host: QueueControlHost) {
    this.#host = host;
  }

  /**
   * Pauses queue `name`, from any process: workers claim nothing from it
   * from the commit on (those waiting notice within their usual wake-up
   * time); tasks already running finish. Enqueueing still works. Pausing
   * a queue that has no tasks yet is allowed.
   *
   * @throws {TypeError | RangeError} If `name` is not a queue name.
   */
  async pause(name: string): Promise<void> {
    checkQueueName(name, "pause queue", "name");
    await this.#update(name, { paused: true });
  }

  /**
   * Resumes queue `name`: workers claim from it again, waking at once.
   *
   * @throws {TypeError | RangeError} If `name` is not a queue name.
   */
  async resume(name: string): Promise<void> {
    checkQueueName(name, "resume queue", "name");
    await this.#update(name, { paused: false });
  }

  /**
   * Sets or removes queue `name`'s limits, which hold across every worker
   * and process (counted inside each claim's transaction): `concurrency`,
   * the most of its tasks running at once; `rateLimit`, the most starts
   * within any `intervalMs` window. An omitted field keeps its limit,
   * `null` removes it. Tasks already running when a limit is set keep
   * running; the limit applies to claims after it.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * await queue.queues.setLimits("api", { rateLimit: { limit: 5, intervalMs: 1_000 } });
   * await queue.queues.setLimits("api", { rateLimit: null }); // removed
   * await queue.close();
   * ```
   *
   * @throws {TypeError} If `limits` is not an object of known fields, or a
   * field has the wrong type.
   * @throws {RangeError} If `name` is not a queue name or a number is not
   * an integer >= 1.
   */
  async setLimits(name: string, limits: QueueLimits): Promise<void> {
    const action = `set limits of queue ${JSON.stringify(name)}`;
    checkQueueName(name, "set queue limits", "name");
    await this.#update(name, checkLimits(limits, action));
  }

  /**
   * Every queue that has tasks or settings, ordered by name, with its
   * settings (defaults for a queue with tasks but no settings) and counts.
   * Reads every task's queue and status: for dashboards and checks.
   */
  async list(): Promise<QueueInfo[]> {
    const now = this.#host.clock.now();
    const rows = await this.#host.backend.listQueues(now);
    return rows.map((row) => toInfo(row, now));
  }

  /**
   * Queue `name`'s settings and counts; a queue with neither tasks nor
   * settings reads as unpaused, unlimited and empty.
   *
   * @throws {TypeError | RangeError} If `name` is not a queue name.
   */
  async get(name: string): Promise<QueueInfo> {
    checkQueueName(name, "read queue", "name");
    const now = this.#host.clock.now();
    const [row] = await this.#host.backend.listQueues(now, name);
    return toInfo(
      row ?? {
        name,
        paused: false,
        concurrency: null,
        rateLimit: null,
        counts: {},
        oldestDueAt: null,
        dueUnclaimed: 0,
      },
      now,
    );
  }

  async #update(name: string, change: QueueSettingsChange): Promise<void> {
    await this.#host.backend.updateQueue(
      name,
      change,
      this.#host.clock.now(),
    );
  }
}

/** The public shape of a backend's queue row at `now`. */
function toInfo(row: QueueRow, now: number): QueueInfo {
  return {
    name: row.name,
    paused: row.paused,
    concurrency: row.concurrency,
    rateLimit: row.rateLimit === null ? null : { ...row.rateLimit },
    counts: { ...row.counts },
    oldestQueuedAgeMs: row.oldestDueAt === null
      ? null
      : Math.max(0, now - row.oldestDueAt),
    dueUnclaimed: row.dueUnclaimed,
  };
}

/** Checks `limits` (see {@linkcode QueueLimits}); returns the change. */
function checkLimits(limits: unknown, action: string): QueueSettingsChange {
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) {
    throw new TypeError(
      `Cannot ${action} as 'limits' must be an object such as { concurrency: 2 } or { rateLimit: { limit: 5, intervalMs: 1000 } }: current value is ${
        show(limits)
      }`,
    );
  }
  checkOptionsObject(limits, action);
  checkKnownKeys(limits as object, LIMIT_KEYS, action);
  const { concurrency, rateLimit } = limits as QueueLimits;
  const change: QueueSettingsChange = {};
  if (concurrency !== undefined) {
    if (concurrency !== null) {
      checkInteger(concurrency, action, "concurrency", 1);
    }
    change.concurrency = concurrency;
  }
  if (rateLimit !== undefined) {
    if (rateLimit !== null) {
      if (typeof rateLimit !== "object" || Array.isArray(rateLimit)) {
        throw new TypeError(
          `Cannot ${action} as 'rateLimit' must be { limit, intervalMs } or null (no rate limit): current value is ${
            show(rateLimit)
          }`,
        );
      }
      checkKnownKeys(rateLimit, RATE_KEYS, `${action} with a 'rateLimit'`);
      for (const key of RATE_KEYS) {
        if (rateLimit[key] === undefined) {
          throw new TypeError(
            `Cannot ${action} as 'rateLimit.${key}' is required: pass { limit: <starts>, intervalMs: <window in ms> }`,
          );
        }
        checkInteger(rateLimit[key], action, `rateLimit.${key}`, 1);
      }
      change.rateLimit = {
        limit: rateLimit.limit,
        intervalMs: rateLimit.intervalMs,
      };
    } else {
      change.rateLimit = null;
    }
  }
  return change;
}
