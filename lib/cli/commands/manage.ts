/**
 * The commands that change tasks: `retry` (requeue), `cancel` and `prune`,
 * by id or by filter. `retry` and `cancel` by id change each task on its
 * own, with a progress bar, so that every failure is reported with its id
 * (the exit code is the first one's). `prune` by id and every command by
 * filter is one bulk call in one transaction (`requeueTasks`,
 * `cancelTasks`, `deleteTasks`).
 *
 * @module
 */
import { FINAL_STATUSES } from "../../core/statuses.ts";
import type { TaskStatus } from "../../core/types.ts";
import type { QueueAdmin } from "../../queue/queue_admin.ts";
import type { TaskFilter } from "../../queue/task_filter.ts";
import type { CommandContext } from "../context.ts";
import { CliError, codeOf, EXIT, exitCodeOf } from "../errors.ts";
import { progressBar, withSpinner } from "../progress.ts";

/** The filter options shared by `retry`, `cancel` and `prune`. */
export interface FilterOptions {
  status?: TaskStatus[];
  name?: string[];
  queue?: string[];
  olderThan?: number;
  createdBefore?: Date;
  finishedBefore?: Date;
  /** Every task the operation applies to (an explicit empty filter). */
  all?: boolean;
}

/** What a command by filter or by ids did, as `--json` prints it. */
export interface ChangeReport {
  /** How many tasks changed. */
  changed: number;
  /** The ids changed (by id only). */
  ids?: number[];
  /** The ids that could not be changed, and why (`retry`, `cancel` by id). */
  errors?: { id: number; code?: string; message: string }[];
  /**
   * How many of the ids given to `prune` were not deleted (missing, or not
   * finished); absent when every one was.
   */
  notDeleted?: number;
}

type Operation = "retry" | "cancel" | "prune";

const PAST: Record<Operation, string> = {
  retry: "requeued",
  cancel: "cancelled",
  prune: "deleted",
};

/**
 * The bulk filter of `options`, or undefined when none was given (nor
 * `--all`).
 */
export function bulkFilter(options: FilterOptions): TaskFilter | undefined {
  const filter: TaskFilter = {};
  if (options.status !== undefined) filter.status = options.status;
  if (options.name !== undefined) filter.name = options.name;
  if (options.queue !== undefined) filter.queue = options.queue;
  if (options.olderThan !== undefined) filter.olderThan = options.olderThan;
  if (options.createdBefore !== undefined) {
    filter.createdBefore = options.createdBefore;
  }
  if (options.finishedBefore !== undefined) {
    filter.finishedBefore = options.finishedBefore;
  }
  return Object.keys(filter).length === 0 && options.all !== true
    ? undefined
    : filter;
}

/** Runs `retry`, `cancel` or `prune` on `ids`, or else on the filter. */
export async function changeCommand(
  admin: QueueAdmin,
  operation: Operation,
  ids: readonly number[],
  options: FilterOptions,
  ctx: CommandContext,
): Promise<number> {
  const filter = bulkFilter(options);
  if (ids.length > 0 && filter !== undefined) {
    throw new CliError(
      `${operation}: give task ids or a filter, not both`,
      EXIT.USAGE,
      "USAGE",
    );
  }
  if (ids.length === 0 && filter === undefined) {
    throw new CliError(
      `${operation}: give task ids, or a filter (--status, --name, --queue, --older-than, ...) or --all`,
      EXIT.USAGE,
      "USAGE",
    );
  }
  const report = ids.length > 0
    ? await byIds(admin, operation, ids, ctx)
    : await byFilter(admin, operation, filter!, options, ctx);
  if (ctx.json) ctx.printJson(report);
  else {
    ctx.print(
      `${PAST[operation]} ${report.changed} task${
        report.changed === 1 ? "" : "s"
      }`,
    );
    for (const error of report.errors ?? []) {
      ctx.note(
        `sitq: task ${error.id}: ${error.message}${
          error.code === undefined ? "" : ` [${error.code}]`
        }`,
      );
    }
    if (report.notDeleted !== undefined) {
      ctx.note(
        `sitq: ${report.notDeleted} of the tasks given not deleted: missing, or not finished [INVALID_STATE]`,
      );
    }
  }
  if (report.notDeleted !== undefined) return EXIT.INVALID_STATE;
  const first = firstErrors.get(report);
  return first === undefined ? EXIT.OK : exitCodeOf(first);
}

// The thrown errors behind a report's `errors`, for the exit code.
const firstErrors = new WeakMap<ChangeReport, unknown>();

async function byIds(
  admin: QueueAdmin,
  operation: Operation,
  ids: readonly number[],
  ctx: CommandContext,
): Promise<ChangeReport> {
  if (operation === "prune") return await pruneIds(admin, ids, ctx);
  const bar = progressBar(operation, ids.length, ctx.progress && !ctx.json);
  const report: ChangeReport = { changed: 0, ids: [], errors: [] };
  try {
    for (const [i, id] of ids.entries()) {
      try {
        if (operation === "retry") await admin.requeue(id);
        else await admin.cancel(id);
        report.changed++;
        report.ids!.push(id);
      } catch (error) {
        if (!firstErrors.has(report)) firstErrors.set(report, error);
        report.errors!.push({
          id,
          code: codeOf(error),
          message: error instanceof Error ? error.message : String(error),
        });
      }
      bar.update(i + 1);
    }
  } finally {
    bar.finish();
  }
  if (report.errors!.length === 0) delete report.errors;
  return report;
}

/**
 * `prune <id...>`: one `deleteTasks` of the finished tasks among `ids`
 * (failed ones too: naming a task is asking for it). The others (missing,
 * or not finished) are left alone and counted in `notDeleted` (which ones
 * is not known from one bulk call); they make the exit code INVALID_STATE.
 */
async function pruneIds(
  admin: QueueAdmin,
  ids: readonly number[],
  ctx: CommandContext,
): Promise<ChangeReport> {
  const unique = [...new Set(ids)];
  const changed = await withSpinner(
    "prune",
    ctx.progress && !ctx.json,
    () => admin.deleteTasks({ ids: unique, status: FINAL_STATUSES }),
  );
  const kept = unique.length - changed;
  return kept === 0 ? { changed } : { changed, notDeleted: kept };
}

async function byFilter(
  admin: QueueAdmin,
  operation: Operation,
  filter: TaskFilter,
  options: FilterOptions,
  ctx: CommandContext,
): Promise<ChangeReport> {
  if (operation === "prune" && filter.status === undefined) {
    // Like queue.prune: failed tasks are kept for inspection unless asked,
    // and an age alone must never reach queued or running tasks.
    filter.status = options.all === true
      ? FINAL_STATUSES
      : ["completed", "cancelled"];
  }
  const changed = await withSpinner(
    operation,
    ctx.progress && !ctx.json,
    () =>
      operation === "retry"
        ? admin.requeueTasks(filter)
        : operation === "cancel"
        ? admin.cancelTasks(filter)
        : admin.deleteTasks(filter),
  );
  return { changed };
}
