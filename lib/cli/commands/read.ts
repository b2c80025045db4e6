/**
 * The commands that only read: `stats`, `list`, `show` and `workers`.
 * Each prints a table for people or, with `--json`, one JSON document.
 *
 * @module
 */
import { TASK_STATUSES } from "../../core/statuses.ts";
import type { QueueStats, StoredError, TaskStatus } from "../../core/types.ts";
import type { ListTasksOptions } from "../../queue/options.ts";
import type { QueueAdmin } from "../../queue/queue_admin.ts";
import type { CommandContext } from "../context.ts";
import type { QueueInfo } from "../../queue/queue_control.ts";
import {
  formatDate,
  formatDuration,
  inline,
  printable,
  table,
} from "../format.ts";
import { CliError, EXIT } from "../errors.ts";

const STATUSES: readonly TaskStatus[] = TASK_STATUSES;

/** What `sitq stats --json` prints. */
export interface StatsReport {
  /** Tasks per status, every status present. */
  statuses: QueueStats;
  /** Per task name, per status. */
  names: Record<string, QueueStats>;
  /** Per queue. */
  queues: QueueInfo[];
}

/** Reads the counts `stats` shows. */
export async function readStats(admin: QueueAdmin): Promise<StatsReport> {
  const [statuses, byName, queues] = await Promise.all([
    admin.stats(),
    admin.statsByName(),
    admin.queues.list(),
  ]);
  return { statuses, names: Object.fromEntries(byName), queues };
}

/** `sitq stats`: counts per status, task name and queue. */
export async function statsCommand(
  admin: QueueAdmin,
  ctx: CommandContext,
): Promise<void> {
  const report = await readStats(admin);
  if (ctx.json) return ctx.printJson(report);
  const numeric = STATUSES.map((_, i) => i + 1);
  const total = STATUSES.reduce((sum, s) => sum + report.statuses[s], 0);
  ctx.print(table(
    ["status", "tasks"],
    [
      ...STATUSES.map((s) => [s, String(report.statuses[s])]),
      ["total", String(total)],
    ],
    { numeric: [1] },
  ));
  const names = Object.entries(report.names);
  ctx.print("");
  ctx.print(
    names.length === 0 ? "no tasks stored" : table(
      ["task name", ...STATUSES],
      names.map((
        [name, stats],
      ) => [name, ...STATUSES.map((s) => String(stats[s]))]),
      { numeric },
    ),
  );
  if (report.queues.length > 0) {
    ctx.print("");
    ctx.print(table(
      ["queue", "paused", ...STATUSES, "oldest queued"],
      report.queues.map((q) => [
        q.name,
        q.paused ? "yes" : "no",
        ...STATUSES.map((s) => String(q.counts[s] ?? 0)),
        formatDuration(q.oldestQueuedAgeMs),
      ]),
      { numeric: [...numeric.map((i) => i + 1), STATUSES.length + 2] },
    ));
  }
}

/** The filters and paging of `sitq list`. */
export interface ListOptions {
  status?: TaskStatus[];
  name?: string;
  queue?: string;
  limit?: number;
  after?: string;
}

/** `sitq list`: a page of tasks, newest first. */
export async function listCommand(
  admin: QueueAdmin,
  options: ListOptions,
  ctx: CommandContext,
): Promise<void> {
  const query: ListTasksOptions = { limit: options.limit ?? 50 };
  if (options.status !== undefined) query.status = options.status;
  if (options.name !== undefined) query.name = options.name;
  if (options.after !== undefined) query.cursor = options.after;
  if (options.queue !== undefined) query.queue = options.queue;
  const page = await admin.listTasks(query);
  if (ctx.json) return ctx.printJson(page);
  if (page.tasks.length === 0) {
    ctx.print("no tasks");
    return;
  }
  ctx.print(table(
    [
      "id",
      "name",
      "queue",
      "status",
      "attempts",
      "created",
      "finished",
      "args",
    ],
    page.tasks.map((task) => [
      String(task.id),
      task.name,
      task.queue,
      task.status,
      `${task.attempts}/${task.maxAttempts}`,
      formatDate(task.createdAt),
      formatDate(task.finishedAt),
      inline(task.args),
    ]),
    { numeric: [0], maxWidth: 40 },
  ));
  if (page.nextCursor !== undefined) {
    ctx.print(`\nmore: --after ${page.nextCursor}`);
  }
}

/**
 * An error: its name, message and code on the first line (the message's
 * later lines below it, indented), then its stack indented. Every line
 * passes `printable`: a stored message cannot move the terminal's cursor.
 */
function errorLines(label: string, error: StoredError): string[] {
  const [first = "", ...more] = error.message.split("\n");
  const lines = [
    printable(
      `${label}: ${error.name}: ${first}${
        error.code === undefined ? "" : ` [${error.code}]`
      }`,
    ),
    ...more.map((line) => `  ${printable(line)}`),
  ];
  if (error.stack !== undefined && error.stack !== "") {
    lines.push(
      ...error.stack.split("\n").map((line) => `    ${printable(line)}`),
    );
  }
  return lines;
}

function pretty(value: unknown): string {
  return JSON.stringify(
    JSON.parse(inline(value === undefined ? null : value)),
    null,
    2,
  ).split("\n").map((line, i) => (i === 0 ? line : `  ${line}`)).join("\n");
}

/** `sitq show <id>`: everything stored about one task. */
export async function showCommand(
  admin: QueueAdmin,
  id: number,
  ctx: CommandContext,
): Promise<void> {
  const task = await admin.getTask(id);
  if (ctx.json) return ctx.printJson(task);
  const result = task.result;
  const field = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== "") {
      lines.push(`${label.padEnd(13)}${printable(value)}`);
    }
  };
  const lines: string[] = [];
  field("id", String(task.id));
  field("name", task.name);
  field("queue", task.queue);
  field("status", task.status);
  field("attempts", `${task.attempts} of ${task.maxAttempts}`);
  field("priority", String(task.priority));
  field(
    "timeout",
    task.timeout === undefined ? undefined : `${task.timeout} ms`,
  );
  field("created", formatDate(task.createdAt));
  field("run at", formatDate(task.runAt));
  field("started", formatDate(task.startedAt));
  field("finished", formatDate(task.finishedAt));
  field("worker", task.workerId);
  field("lease until", formatDate(task.leaseExpiresAt));
  field("unique key", task.uniqueKey);
  field(
    "cancelled by",
    task.cancelledBy === undefined ? undefined : String(task.cancelledBy),
  );
  lines.push(`${"args".padEnd(13)}${pretty(task.args)}`);
  if (task.progress !== undefined) {
    lines.push(`${"progress".padEnd(13)}${pretty(task.progress)}`);
  }
  if (result.status === "completed") {
    lines.push(`${"result".padEnd(13)}${pretty(result.value)}`);
  } else if (result.status === "failed") {
    lines.push(...errorLines("error", result.error));
  } else if (result.status === "queued" && result.lastError !== undefined) {
    lines.push(...errorLines("last error", result.lastError));
  } else if (result.status === "cancelled" && result.reason !== undefined) {
    lines.push(...errorLines("reason", result.reason));
  }
  ctx.print(lines.join("\n"));
  ctx.print("");
  if (task.history.length === 0) {
    ctx.print("no finished attempts");
    return;
  }
  ctx.print(table(
    ["attempt", "worker", "started", "finished", "took", "outcome", "error"],
    task.history.map((a) => [
      String(a.attempt),
      a.workerId,
      formatDate(a.startedAt),
      formatDate(a.finishedAt),
      formatDuration(a.finishedAt.getTime() - a.startedAt.getTime()),
      a.outcome,
      a.error === undefined ? "" : `${a.error.name}: ${a.error.message}`,
    ]),
    { numeric: [0] },
  ));
}

/** `sitq workers`: the live workers of the registry, in any process. */
export async function workersCommand(
  admin: QueueAdmin,
  ctx: CommandContext,
): Promise<void> {
  const [workers, unhandled] = await Promise.all([
    admin.workers(),
    admin.unhandledTasks(),
  ]);
  if (ctx.json) return ctx.printJson({ workers, unhandled });
  ctx.print(
    workers.length === 0 ? "no live workers" : table(
      ["id", "host", "pid", "started", "heartbeat", "tasks"],
      workers.map((w) => [
        w.id,
        w.host,
        String(w.pid),
        formatDate(w.startedAt),
        formatDate(w.heartbeatAt),
        w.names.join(","),
      ]),
      { numeric: [2] },
    ),
  );
  if (unhandled.length > 0) {
    ctx.print("\nqueued tasks no live worker handles:");
    ctx.print(table(
      ["task name", "due", "later"],
      unhandled.map((u) => [u.name, String(u.due), String(u.later)]),
      { numeric: [1, 2] },
    ));
  }
}

/** Throws NOT_FOUND: used when a named thing is missing. */
export function notFound(what: string): never {
  throw new CliError(what, EXIT.NOT_FOUND, "NOT_FOUND");
}
