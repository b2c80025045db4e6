/**
 * Metrics in the Prometheus text exposition format (version 0.0.4):
 * {@linkcode prometheusMetrics} returns the text a `/metrics` endpoint
 * serves.
 *
 * Two sources, as Prometheus expects:
 * - **From the database, at each call** (gauges, the same in every process
 *   that asks): `sitq_tasks{queue,status}`, `sitq_tasks_by_name{task,status}`,
 *   `sitq_queue_oldest_queued_age_seconds{queue}`, `sitq_queue_paused{queue}`,
 *   `sitq_queue_due_unclaimed{queue}` and `sitq_workers` (live workers in
 *   any process).
 * - **From the workers of this process** (counters and a histogram, since
 *   the process started; each worker process exposes its own, and
 *   Prometheus sums them across targets): `sitq_task_completions_total`,
 *   `sitq_task_failures_total` (failed for good), `sitq_task_retries_total`
 *   (failed attempts that will run again), `sitq_attempts_interrupted_total`
 *   (given back by a stop) and `sitq_attempt_duration_seconds` (a histogram
 *   of every attempt that ran to an outcome), each by `task` and `queue`.
 *   Every worker in the process feeds them; nothing to register.
 *
 * @module
 */
import { TASK_STATUSES } from "../core/statuses.ts";
import type { TaskStatus } from "../core/types.ts";
import type { QueueAdmin } from "../queue/queue_admin.ts";

/**
 * The upper bounds (seconds) of `sitq_attempt_duration_seconds`' buckets,
 * from 5 ms to 10 minutes; `+Inf` is added.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  600,
];

/** How an attempt ended, as the counters count it. */
export type AttemptKind =
  | "completed"
  | "failed"
  | "retried"
  | "interrupted"
  | "lost";

interface Series {
  task: string;
  queue: string;
  completed: number;
  failed: number;
  retried: number;
  interrupted: number;
  /** Per bucket (not cumulative), then +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

/** This process's series, by `task \0 queue`. */
const series = new Map<string, Series>();

/**
 * Counts one attempt of this process's workers (called by the worker as
 * each attempt's outcome is decided).
 *
 * @param durationMs How long the handler ran, in ms.
 */
export function recordAttempt(
  task: string,
  queue: string,
  kind: AttemptKind,
  durationMs: number,
): void {
  const key = `${task}\u0000${queue}`;
  let one = series.get(key);
  if (one === undefined) {
    one = {
      task,
      queue,
      completed: 0,
      failed: 0,
      retried: 0,
      interrupted: 0,
      buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
      sum: 0,
      count: 0,
    };
    series.set(key, one);
  }
  switch (kind) {
    case "completed":
      one.completed++;
      break;
    case "failed":
      one.failed++;
      break;
    case "retried":
      one.retried++;
      break;
    case "interrupted":
      one.interrupted++;
      return;
    case "lost":
      return;
  }
  const seconds = durationMs / 1000;
  let bucket = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
  if (bucket === -1) bucket = DURATION_BUCKETS.length;
  one.buckets[bucket]!++;
  one.sum += seconds;
  one.count++;
}

/** A label value escaped as the text format requires. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) =>
    `${k}="${escapeLabel(v)}"`
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Builds exposition text, one metric family at a time. */
class Exposition {
  readonly #lines: string[] = [];

  family(
    name: string,
    type: "gauge" | "counter" | "histogram",
    help: string,
  ): this {
    this.#lines.push(
      `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
    );
    this.#lines.push(`# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, pairs: Record<string, string>, value: number): this {
    this.#lines.push(`${name}${labels(pairs)} ${number(value)}`);
    return this;
  }

  text(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}

/** Options of {@linkcode prometheusMetrics}. */
export interface MetricsOptions {
  /**
   * Read the gauges from the database. `false` gives only this process's
   * counters and histogram (no query at all).
   *
   * @default {true}
   */
  database?: boolean;
}

/**
 * The metrics as Prometheus text (content type
 * `text/plain; version=0.0.4; charset=utf-8`): the database's gauges, read
 * now, and the counters and attempt-duration histogram of the workers of
 * this process (see the module doc for every series).
 *
 * @example Serve /metrics
 * ```ts
 * import { prometheusMetrics, QueueAdmin, SQLiteBackend } from "sitq";
 *
 * const admin = new QueueAdmin(new SQLiteBackend(":memory:"));
 * const text = await prometheusMetrics(admin);
 * console.log(text.includes("# TYPE sitq_tasks gauge")); // true
 * await admin.close();
 * // In a server: new Response(text, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } })
 * ```
 *
 * @param admin The queue (a `TaskQueue` or `QueueAdmin`) whose database is read.
 * @param options `database: false` to skip the database's gauges.
 * @returns The exposition text, ending with a newline.
 * @throws {DatabaseError} If the database cannot be read.
 */
export async function prometheusMetrics(
  admin: QueueAdmin,
  options: MetricsOptions = {},
): Promise<string> {
  const out = new Exposition();
  if (options.database !== false) await databaseGauges(admin, out);
  processCounters(out);
  return out.text();
}

/** The content type of {@linkcode prometheusMetrics}' text. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

const STATUSES: readonly TaskStatus[] = TASK_STATUSES;

async function databaseGauges(
  admin: QueueAdmin,
  out: Exposition,
): Promise<void> {
  const [byName, queues, workers] = await Promise.all([
    admin.statsByName(),
    admin.queues.list(),
    admin.workers(),
  ]);
  out.family(
    "sitq_tasks",
    "gauge",
    "Tasks stored per queue and status (read from the database).",
  );
  // "default" always has its series (zeros on an empty database), so that
  // a rate or an alert has a series to start from.
  if (!queues.some((queue) => queue.name === "default")) {
    for (const status of STATUSES) {
      out.sample("sitq_tasks", { queue: "default", status }, 0);
    }
  }
  for (const queue of queues) {
    for (const status of STATUSES) {
      out.sample(
        "sitq_tasks",
        { queue: queue.name, status },
        queue.counts[status] ?? 0,
      );
    }
  }
  out.family(
    "sitq_tasks_by_name",
    "gauge",
    "Tasks stored per task name and status (read from the database).",
  );
  for (const [task, counts] of byName) {
    for (const status of STATUSES) {
      out.sample("sitq_tasks_by_name", { task, status }, counts[status]);
    }
  }
  out.family(
    "sitq_queue_oldest_queued_age_seconds",
    "gauge",
    "Age of the oldest queued task per queue, 0 when none (read from the database).",
  );
  for (const queue of queues) {
    out.sample(
      "sitq_queue_oldest_queued_age_seconds",
      { queue: queue.name },
      (queue.oldestQueuedAgeMs ?? 0) / 1000,
    );
  }
  out.family("sitq_queue_paused", "gauge", "1 when the queue is paused.");
  for (const queue of queues) {
    out.sample(
      "sitq_queue_paused",
      { queue: queue.name },
      queue.paused ? 1 : 0,
    );
  }
  out.family(
    "sitq_queue_due_unclaimed",
    "gauge",
    "Queued tasks whose run time has passed, per queue (read from the database).",
  );
  for (const queue of queues) {
    out.sample(
      "sitq_queue_due_unclaimed",
      { queue: queue.name },
      queue.dueUnclaimed,
    );
  }
  out.family(
    "sitq_workers",
    "gauge",
    "Live workers in any process (the database's registry).",
  );
  out.sample("sitq_workers", {}, workers.length);
}

function processCounters(out: Exposition): void {
  const all = [...series.values()].sort((a, b) =>
    a.task === b.task ? (a.queue < b.queue ? -1 : 1) : a.task < b.task ? -1 : 1
  );
  const counters: [string, keyof Series, string][] = [
    [
      "sitq_task_completions_total",
      "completed",
      "Attempts completed by this process's workers.",
    ],
    [
      "sitq_task_failures_total",
      "failed",
      "Tasks failed for good by this process's workers.",
    ],
    [
      "sitq_task_retries_total",
      "retried",
      "Failed or timed-out attempts of this process's workers that will be retried.",
    ],
    [
      "sitq_attempts_interrupted_total",
      "interrupted",
      "Attempts of this process's workers given back to the queue by a stop.",
    ],
  ];
  for (const [name, field, help] of counters) {
    out.family(name, "counter", help);
    for (const one of all) {
      out.sample(
        name,
        { task: one.task, queue: one.queue },
        one[field] as number,
      );
    }
  }
  const name = "sitq_attempt_duration_seconds";
  out.family(
    name,
    "histogram",
    "Duration of the attempts run by this process's workers.",
  );
  for (const one of all) {
    const base = { task: one.task, queue: one.queue };
    let cumulative = 0;
    for (const [i, bound] of DURATION_BUCKETS.entries()) {
      cumulative += one.buckets[i]!;
      out.sample(`${name}_bucket`, { ...base, le: String(bound) }, cumulative);
    }
    cumulative += one.buckets[DURATION_BUCKETS.length]!;
    out.sample(`${name}_bucket`, { ...base, le: "+Inf" }, cumulative);
    out.sample(`${name}_sum`, base, one.sum);
    out.sample(`${name}_count`, base, one.count);
  }
}
