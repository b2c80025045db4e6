/**
 * Reading and managing stored tasks without handlers: `QueueAdmin` holds a
 * backend, a serializer, a clock and the result watcher. Its methods are
 * written in three modules, a class each, one extending the other:
 * `QueueReader` (`queue_reader.ts`: results, records, pages, counts,
 * workers), `QueueManager` (`queue_manager.ts`: cancel, requeue, prune,
 * bulk operations) and `QueueAdmin` here (queues, schedules, event
 * subscriptions, closing). `TaskQueue` extends it with the registry,
 * enqueueing and workers; a CLI or dashboard uses it alone.
 *
 * @module
 */
import type { TaskQueueOptions } from "./options.ts";
import type { Backend } from "../storage/backend.ts";
import { stopRunningOn } from "../worker/running_workers.ts";
import { ScheduleControl } from "./schedule_control.ts";
import { QueueControl } from "./queue_control.ts";
import type { TaskEvent } from "../core/task_events.ts";
import {
  checkSubscribe,
  subscribeEvents,
  type SubscribeOptions,
  type Subscription,
} from "./subscribe.ts";
import { QueueManager } from "./queue_manager.ts";

export { checkQueueInputs } from "./queue_reader.ts";

/**
 * Reads and manages the tasks stored on a {@linkcode Backend}, with no task
 * registered: results (now or awaited), records, pages, counts, cancel,
 * requeue and prune. What a CLI, a dashboard or a process that only reads
 * results needs; {@linkcode TaskQueue} has all of it, plus defining,
 * enqueueing and running tasks. Give it the serializer the queue that
 * enqueued the tasks uses, to read their arguments and results.
 *
 * @example Inspect and retry failed tasks from a separate process
 * ```ts
 * import { QueueAdmin, SQLiteBackend } from "sitq";
 *
 * await using admin = new QueueAdmin(new SQLiteBackend(":memory:")); // or "tasks.db"
 * console.log((await admin.stats()).failed); // 0
 * const page = await admin.listTasks({ status: "failed", limit: 20 });
 * for (const task of page.tasks) {
 *   console.log(task.id, task.name, task.result);
 *   await admin.requeue(task.id);
 * }
 * ```
 */
export class QueueAdmin extends QueueManager implements AsyncDisposable {
  /** Open event subscriptions, closed by `close()`. */
  readonly #subscriptions = new Set<Subscription>();
  #schedules: ScheduleControl | undefined;
  #queues: QueueControl | undefined;

  /**
   * Creates an admin view of the tasks on a backend.
   *
   * @param backend Where tasks are stored, e.g. `new SQLiteBackend("tasks.db")`.
   * @param options The serializer and clock.
   * @throws {TypeError} If `backend` is not a backend, an option is unknown,
   * or the serializer or clock lacks a method it must have (a serializer
   * needs `serialize` and `deserialize` functions; a clock a `now()` that
   * returns milliseconds since the epoch).
   */
  constructor(backend: Backend, options: TaskQueueOptions = {}) {
    super(backend, options);
  }

  /**
   * Recurring schedules stored in the database: set by name (idempotent,
   * so every process may declare its schedules at start-up), list, get,
   * pause, resume, remove. Workers fire them, one task per due slot
   * across all processes; see {@linkcode ScheduleControl}.
   *
   * @example Every hour, on the hour
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const ping = queue.task("ping", (url: string) => url);
   * await queue.schedules.set("ping", { task: ping, args: ["https://example.com"], cron: "0 * * * *" });
   * console.log((await queue.schedules.list()).length); // 1
   * await queue.close();
   * ```
   */
  get schedules(): ScheduleControl {
    return this.#schedules ??= new ScheduleControl(this);
  }

  /**
   * Named queues across processes: pause, resume, global concurrency and
   * rate limits, counts; see {@linkcode QueueControl}. A task's queue is
   * `TaskOptions.queue` / `RunOptions.queue` (default `"default"`); a
   * worker takes `WorkerOptions.queues` (default: all).
   *
   * @example Pause a queue from any process
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * await queue.queues.pause("emails");
   * console.log((await queue.queues.get("emails")).paused); // true
   * await queue.close();
   * ```
   */
  get queues(): QueueControl {
    return this.#queues ??= new QueueControl(this);
  }

  /**
   * Subscribes to task events (enqueued, started, progress, retrying,
   * completed, failed, cancelled) of every task on this database, written
   * by any process, with the workers' wake-up latency. Resolves once the
   * subscription is registered: every event committed after that is
   * delivered to `listener`, once, in order (per task, in the order it
   * happened). Events are stored only while some subscription is live, so
   * subscribing costs the writers something and no subscriber costs them
   * nothing. An error the listener throws is ignored. `close()` the
   * subscription when done (this queue's `close()` closes it too).
   *
   * @example Follow failures from a process that runs no worker
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * const subscription = await queue.subscribe(
   *   (event) => console.log(event.type, event.name, event.taskId, event.error?.message),
   *   { types: ["failed", "completed"] },
   * );
   * await subscription.close();
   * await queue.close();
   * ```
   *
   * @param listener Called with each {@linkcode TaskEvent}.
   * @param options Filters by event type, task name and queue; a signal
   * that closes the subscription.
   * @returns The live {@linkcode Subscription}.
   * @throws {TypeError | RangeError} If the listener or an option is invalid.
   */
  async subscribe(
    listener: (event: TaskEvent) => void,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    checkSubscribe(listener, options);
    const subscription = await subscribeEvents(
      {
        backend: this.backend,
        serializer: this.serializer,
        clock: this.clock,
      },
      listener,
      options,
    );
    const subscriptions = this.#subscriptions;
    subscriptions.add(subscription);
    const close = subscription.close.bind(subscription);
    const tracked: Subscription = {
      close: () => {
        subscriptions.delete(tracked);
        return close();
      },
      [Symbol.asyncDispose]: () => tracked.close(),
    };
    subscriptions.delete(subscription);
    subscriptions.add(tracked);
    return tracked;
  }

  /**
   * Stops every worker running on this queue's backend in this process
   * (those from `queue.worker()` and those made with `new Worker(backend)`
   * alike), each gracefully with its `shutdownTimeout` as `worker.stop()`
   * does: running tasks finish and their outcomes are written, and those
   * still running at the deadline are interrupted and queued again. Then
   * closes the backend. Idempotent; never rejects because of a worker.
   *
   * @example
   * ```ts
   * import { SQLiteBackend, TaskQueue } from "sitq";
   *
   * await using queue = new TaskQueue(new SQLiteBackend(":memory:"));
   * // closed automatically at the end of the scope
   * ```
   */
  async close(): Promise<void> {
    // A backend closed under a running worker cannot take its outcomes:
    // the tasks would stay running until their leases expire, and count a
    // lost attempt.
    await stopRunningOn(this.backend);
    await Promise.all(
      [...this.#subscriptions].map((subscription) =>
        subscription.close().catch(() => {})
      ),
    );
    await this.backend.close();
  }

  /** Closes the backend (`await using queue = ...`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
