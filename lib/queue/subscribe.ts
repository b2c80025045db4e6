/**
 * `queue.subscribe()`: task events for a process that may run no worker.
 *
 * A subscription registers a row in `sitq_subscribers` (schema v9); while
 * any live row exists, every task change writes an event row in the same
 * transaction (see `lib/storage/events_schema.ts`). The subscription reads
 * the events after its cursor on each change the backend reports (this
 * process's writes, other processes' commits through the change feed: the
 * workers' wake-up path) and on a short timer for the writes no change
 * announces (claims and progress in this process), delivers each once, in
 * order, and moves its cursor. Its heartbeat keeps the row alive, sweeps
 * dead ones (a killed process: events stop once no live row is left), and
 * deletes the events every subscriber has read, and any older than an hour.
 *
 * @module
 */
import { coerceError } from "../core/coerce_error.ts";
import type { Serializer } from "../core/serializer.ts";
import { parseStoredError } from "../core/stored_error.ts";
import {
  TASK_EVENT_TYPES,
  type TaskEvent,
  type TaskEventType,
} from "../core/task_events.ts";
import type { Clock, TaskId } from "../core/types.ts";
import { checkOptions, optionKeys, show } from "../core/validate.ts";
import { checkAbortSignal } from "../core/validate_shapes.ts";
import type { Unsubscribe } from "../core/events.ts";
import type { Backend, EventRow } from "../storage/backend.ts";

/** What {@linkcode QueueAdmin.subscribe} takes besides the listener. */
export interface SubscribeOptions {
  /** Only events of these types (default: all). */
  types?: readonly TaskEventType[];
  /** Only events of tasks with these names (default: all). */
  names?: readonly string[];
  /** Only events of tasks in these queues (default: all). */
  queues?: readonly string[];
  /** Closes the subscription when it aborts. */
  signal?: AbortSignal;
}

/** A live subscription to task events; see {@linkcode QueueAdmin.subscribe}. */
export interface Subscription {
  /**
   * Stops delivery at once and removes the subscription's row (events stop
   * being written once no subscriber is left). Idempotent.
   */
  close(): Promise<void>;
  /** Closes it (`await using subscription = ...`). */
  [Symbol.asyncDispose](): Promise<void>;
}

const OPTION_KEYS = optionKeys<SubscribeOptions>({
  types: true,
  names: true,
  queues: true,
  signal: true,
});

/** Ms between reads when no change came (claims and progress in this process). */
const POLL_MS = 250;
/** Ms between heartbeats. */
const HEARTBEAT_MS = 10_000;
/** Ms after its last heartbeat that a subscriber's row counts as dead. */
const EXPIRES_MS = 60_000;
/** Ms events are kept, read or not. */
const RETAIN_MS = 3_600_000;
/** Events read at once. */
const PAGE = 1000;

function checkList(
  value: unknown,
  option: string,
  allowed?: readonly string[],
): void {
  if (value === undefined) return;
  if (
    !Array.isArray(value) || value.some((item) => typeof item !== "string")
  ) {
    throw new TypeError(
      `Cannot subscribe as '${option}' must be an array of strings: current value is ${
        show(value)
      }`,
    );
  }
  for (const item of value as string[]) {
    if (allowed !== undefined && !allowed.includes(item)) {
      throw new RangeError(
        `Cannot subscribe as '${option}' may only hold ${
          allowed.join(", ")
        }: current value is ${JSON.stringify(item)}`,
      );
    }
  }
}

/**
 * Checks the listener and options of `subscribe`.
 *
 * @throws {TypeError | RangeError} If one is invalid.
 */
export function checkSubscribe(
  listener: unknown,
  options: SubscribeOptions,
): void {
  if (typeof listener !== "function") {
    throw new TypeError(
      `Cannot subscribe as the listener must be a function: current value is ${
        show(listener)
      }`,
    );
  }
  checkOptions(options, OPTION_KEYS, "subscribe");
  checkList(options.types, "types", TASK_EVENT_TYPES);
  checkList(options.names, "names");
  checkList(options.queues, "queues");
  if (options.signal !== undefined) {
    checkAbortSignal(options.signal, "subscribe", "signal");
  }
}

/** What a subscription needs from the queue. */
export interface SubscriptionParts {
  backend: Backend;
  serializer: Serializer;
  clock: Clock;
}

/**
 * Registers a subscription and returns it once registered: every event
 * committed after that is delivered.
 */
export async function subscribeEvents(
  parts: SubscriptionParts,
  listener: (event: TaskEvent) => void,
  options: SubscribeOptions,
): Promise<Subscription> {
  const subscription = new EventSubscription(parts, listener, options);
  await subscription.start();
  return subscription;
}

class EventSubscription implements Subscription {
  readonly #parts: SubscriptionParts;
  readonly #listener: (event: TaskEvent) => void;
  readonly #options: SubscribeOptions;
  readonly #id = crypto.randomUUID();
  #cursor = 0;
  #closed = false;
  #reading: Promise<void> | undefined;
  #again = false;
  #unsubscribe: Unsubscribe | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #onAbort: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    parts: SubscriptionParts,
    listener: (event: TaskEvent) => void,
    options: SubscribeOptions,
  ) {
    this.#parts = parts;
    this.#listener = listener;
    this.#options = options;
  }

  async start(): Promise<void> {
    const { backend, clock } = this.#parts;
    const now = clock.now();
    this.#cursor = await backend.registerSubscriber({
      id: this.#id,
      startedAt: now,
      expiresAt: now + EXPIRES_MS,
    });
    this.#unsubscribe = backend.subscribe((change) => {
      if (change.type !== "notice") this.#read();
    });
    this.#poll = setInterval(() => this.#read(), POLL_MS);
    this.#heartbeat = setInterval(() => void this.#beat(), HEARTBEAT_MS);
    const signal = this.#options.signal;
    if (signal !== undefined) {
      this.#onAbort = () => void this.close();
      if (signal.aborted) await this.close();
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Reads and delivers what came since the cursor; one read at a time. */
  #read(): void {
    if (this.#closed) return;
    if (this.#reading !== undefined) {
      this.#again = true;
      return;
    }
    this.#reading = (async () => {
      do {
        this.#again = false;
        try {
          let full: boolean;
          do {
            const page = await this.#parts.backend.readEvents(
              this.#cursor,
              PAGE,
            );
            if (this.#closed) return;
            this.#cursor = page.cursor;
            for (const row of page.events) this.#deliver(row);
            full = page.events.length >= PAGE;
          } while (full && !this.#closed);
        } catch {
          // A failed read is tried again at the next change or poll; the
          // cursor did not move.
        }
      } while (this.#again && !this.#closed);
    })().finally(() => this.#reading = undefined);
  }

  #deliver(row: EventRow): void {
    const { types, names, queues } = this.#options;
    if (types !== undefined && !types.includes(row.type)) return;
    if (names !== undefined && !names.includes(row.name)) return;
    if (queues !== undefined && !queues.includes(row.queue)) return;
    if (this.#closed) return;
    const event: TaskEvent = {
      id: row.id,
      type: row.type,
      taskId: row.taskId as TaskId,
      name: row.name,
      queue: row.queue,
      attempt: row.attempt,
      at: new Date(row.at),
    };
    if (row.progress !== null) {
      try {
        event.progress = this.#parts.serializer.deserialize(row.progress);
      } catch (error) {
        event.progress = undefined;
        event.error = {
          name: "SerializationError",
          message: coerceError(error).message,
        };
      }
    }
    const error = parseStoredError(row.error);
    if (error !== undefined) event.error = error;
    try {
      this.#listener(event);
    } catch {
      // A listener's error is its own; delivery goes on.
    }
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const { backend, clock } = this.#parts;
    const now = clock.now();
    try {
      const alive = await backend.heartbeatSubscriber({
        id: this.#id,
        cursor: this.#cursor,
        now,
        expiresAt: now + EXPIRES_MS,
        retainAfter: now - RETAIN_MS,
      });
      if (!alive && !this.#closed) {
        // Swept while this process was frozen: register again (events
        // written meanwhile, if any subscriber was live, are still read
        // from the cursor kept here).
        await backend.registerSubscriber({
          id: this.#id,
          startedAt: now,
          expiresAt: now + EXPIRES_MS,
        });
      }
    } catch {
      // Tried again at the next heartbeat; the row has slack for that.
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#poll !== undefined) clearInterval(this.#poll);
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    if (this.#onAbort !== undefined) {
      this.#options.signal?.removeEventListener("abort", this.#onAbort);
    }
    await this.#reading;
    await this.#parts.backend.removeSubscriber(
      this.#id,
      this.#parts.clock.now(),
    );
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
