/**
 * What the dashboard's pages and JSON endpoints show, read through the
 * public `QueueAdmin` API: counts per status, name and queue, the
 * throughput series, a page of tasks with filters, and plain-JSON views of
 * tasks for the live updates.
 *
 * @module
 */
import { TASK_STATUSES } from "../core/statuses.ts";
import type { QueueStats, TaskRecord, TaskStatus } from "../core/types.ts";
import type { QueueAdmin } from "../queue/queue_admin.ts";
import type { WorkerInfo } from "../queue/workers.ts";
import type { TaskPage } from "../queue/results.ts";
import type { ListTasksOptions } from "../queue/options.ts";
import type { QueueInfo } from "../queue/queue_control.ts";
import { formatValue } from "./format.ts";

/** Everything the overview shows. */
export interface Overview {
  stats: QueueStats;
  byName: Array<{ name: string; counts: QueueStats }>;
  queues: QueueInfo[];
  workers: WorkerInfo[];
  at: Date;
}

/** Reads the overview's counts. */
export async function readOverview(queue: QueueAdmin): Promise<Overview> {
  const [stats, byName, queues, workers] = await Promise.all([
    queue.stats(),
    queue.statsByName(),
    queue.queues.list(),
    queue.workers(),
  ]);
  return {
    stats,
    byName: [...byName].map(([name, counts]) => ({ name, counts })),
    queues,
    workers,
    at: new Date(queue.clock.now()),
  };
}

/** The throughput chart's series: finished tasks per bucket. */
export interface Throughput {
  /** Bucket starts, seconds since the epoch (uPlot's x axis unit). */
  times: number[];
  completed: number[];
  failed: number[];
  /** Bucket width, ms. */
  bucketMs: number;
  /** How many finished tasks were read to build it (at most the cap). */
  sampled: number;
  /** Whether the cap was reached (older buckets may be undercounted). */
  capped: boolean;
}

/** Finished tasks read at most to build the chart. */
export const THROUGHPUT_SAMPLE = 5000;

/**
 * Tasks completed and failed per minute over the last `windowMs` (default
 * an hour), from the most recently enqueued finished tasks (at most
 * {@linkcode THROUGHPUT_SAMPLE}): the public API lists tasks newest first,
 * so a busier queue's older minutes may be undercounted, and `capped` says
 * so.
 */
export async function readThroughput(
  queue: QueueAdmin,
  windowMs = 3_600_000,
  bucketMs = 60_000,
): Promise<Throughput> {
  const now = queue.clock.now();
  const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  const start = end - windowMs;
  const buckets = Math.round(windowMs / bucketMs);
  const times = Array.from(
    { length: buckets },
    (_, i) => (start + i * bucketMs) / 1000,
  );
  const completed = new Array<number>(buckets).fill(0);
  const failed = new Array<number>(buckets).fill(0);
  let sampled = 0;
  let cursor: string | undefined;
  do {
    const page: TaskPage = await queue.listTasks({
      status: ["completed", "failed"],
      limit: 500,
      cursor,
    });
    for (const task of page.tasks) {
      sampled++;
      const at = task.finishedAt?.getTime();
      if (at === undefined || at < start || at >= end) continue;
      const i = Math.floor((at - start) / bucketMs);
      if (task.status === "completed") completed[i]!++;
      else failed[i]!++;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined && sampled < THROUGHPUT_SAMPLE);
  return {
    times,
    completed,
    failed,
    bucketMs,
    sampled,
    capped: cursor !== undefined,
  };
}

/** The list page's filters, as read from its query string. */
export interface ListFilter {
  status?: TaskStatus;
  name?: string;
  queue?: string;
  cursor?: string;
  limit: number;
}

/** Reads the list filters from a URL's query (unknown values dropped). */
export function readListFilter(params: URLSearchParams): ListFilter {
  const status = params.get("status") ?? "";
  const limit = Number(params.get("limit") ?? "50");
  const filter: ListFilter = {
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 500 ? limit : 50,
  };
  if ((TASK_STATUSES as readonly string[]).includes(status)) {
    filter.status = status as TaskStatus;
  }
  const name = params.get("name")?.trim();
  if (name) filter.name = name;
  const queueName = params.get("queue")?.trim();
  if (queueName) filter.queue = queueName;
  const cursor = params.get("cursor");
  if (cursor !== null && /^[1-9][0-9]{0,15}$/.test(cursor)) {
    filter.cursor = cursor;
  }
  return filter;
}

/** The list filters back as a query string (for links and the live poll). */
export function filterQuery(
  filter: Partial<ListFilter>,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams();
  if (filter.status) params.set("status", filter.status);
  if (filter.name) params.set("name", filter.name);
  if (filter.queue) params.set("queue", filter.queue);
  if (filter.limit !== undefined && filter.limit !== 50) {
    params.set("limit", String(filter.limit));
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

/** One page of tasks for the filters. */
export async function readTaskList(
  queue: QueueAdmin,
  filter: ListFilter,
): Promise<TaskPage> {
  const options: ListTasksOptions = { limit: filter.limit };
  if (filter.status !== undefined) options.status = filter.status;
  if (filter.name !== undefined) options.name = filter.name;
  if (filter.queue !== undefined) options.queue = filter.queue;
  if (filter.cursor !== undefined) options.cursor = filter.cursor;
  return await queue.listTasks(options);
}

/** A task row of the list, as plain JSON for the live updates. */
export interface TaskSummary {
  id: number;
  name: string;
  queue: string;
  status: TaskStatus;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  finishedAt: string | null;
}

/** The list row of `task`. */
export function summarize(task: TaskRecord): TaskSummary {
  return {
    id: task.id,
    name: task.name,
    queue: task.queue,
    status: task.status,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    createdAt: task.createdAt.toISOString(),
    finishedAt: task.finishedAt?.toISOString() ?? null,
  };
}

/** What the task page updates live, as plain JSON (values as text). */
export interface TaskDetail extends TaskSummary {
  progress: string | null;
  startedAt: string | null;
  workerId: string | null;
  historyLength: number;
}

/** The live fields of `task`'s page. */
export function detail(task: TaskRecord): TaskDetail {
  return {
    ...summarize(task),
    progress: task.progress === undefined ? null : formatValue(task.progress),
    startedAt: task.startedAt?.toISOString() ?? null,
    workerId: task.workerId ?? null,
    historyLength: task.history.length,
  };
}

/**
 * What the task page compares to tell that its task changed (the page
 * carries it from the server; the client computes it from the JSON).
 */
export function liveState(task: TaskDetail): string {
  return JSON.stringify([
    task.status,
    task.attempts,
    task.historyLength,
    task.progress,
    task.workerId,
  ]);
}
