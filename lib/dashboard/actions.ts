/**
 * The dashboard's actions (POST `<prefix>/actions/<name>`): retry, cancel,
 * bulk retry and bulk cancel, pause and resume a queue, pause, resume and
 * remove a schedule, prune. Each reads its form, calls the public API and
 * names the notice the page shows after the redirect.
 *
 * @module
 */
import { FINAL_STATUSES } from "../core/statuses.ts";
import type { FinalStatus, TaskStatus } from "../core/types.ts";
import type { QueueAdmin } from "../queue/queue_admin.ts";
import type { TaskFilter } from "../queue/task_filter.ts";

/** What an action did: the notice code and an optional count. */
export interface ActionOutcome {
  notice: string;
  count?: number;
}

/** A request the action cannot take (missing field, unknown action). */
export class BadActionError extends Error {
  override name = "BadActionError";
  /** The HTTP status to answer with. */
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

function field(form: FormData, name: string): string {
  const value = form.get(name);
  if (typeof value !== "string" || value.trim() === "") {
    throw new BadActionError(`The form has no '${name}'.`);
  }
  return value.trim();
}

function taskId(form: FormData): number {
  const text = field(form, "id");
  const id = Number(text);
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(id)) {
    throw new BadActionError(`'${text}' is not a task id.`);
  }
  return id;
}

/**
 * The filter of a bulk action: `status` (one of `allowed`), and `name` and
 * `queue` when not empty.
 */
function bulkFilter(
  form: FormData,
  allowed: readonly TaskStatus[],
  action: string,
): TaskFilter {
  const status = field(form, "status");
  if (!(allowed as readonly string[]).includes(status)) {
    throw new BadActionError(`${action} takes ${allowed.join(", ")} tasks.`);
  }
  const filter: TaskFilter = { status: status as TaskStatus };
  const taskName = form.get("name");
  if (typeof taskName === "string" && taskName !== "") filter.name = taskName;
  const queueName = form.get("queue");
  if (typeof queueName === "string" && queueName !== "") {
    filter.queue = queueName;
  }
  return filter;
}

/** The names of the actions, for the router. */
export const ACTIONS = [
  "retry",
  "cancel",
  "bulk-retry",
  "bulk-cancel",
  "pause-queue",
  "resume-queue",
  "pause-schedule",
  "resume-schedule",
  "remove-schedule",
  "prune",
] as const;

/**
 * Runs action `name` with `form`.
 *
 * @throws {BadActionError} For a missing or invalid field, or an unknown
 * action (404).
 * @throws The API's own errors (`TaskNotFoundError`, `InvalidStateError`,
 * …), which the router turns into a page.
 */
export async function runAction(
  queue: QueueAdmin,
  name: string,
  form: FormData,
): Promise<ActionOutcome> {
  switch (name) {
    case "retry":
      await queue.requeue(taskId(form));
      return { notice: "retried" };
    case "cancel":
      await queue.cancel(taskId(form));
      return { notice: "cancelled" };
    case "bulk-retry": {
      const filter = bulkFilter(form, ["failed", "cancelled"], "Bulk retry");
      return {
        notice: "bulk-retried",
        count: await queue.requeueTasks(filter),
      };
    }
    case "bulk-cancel": {
      const filter = bulkFilter(
        form,
        ["waiting", "queued", "running"],
        "Bulk cancel",
      );
      return {
        notice: "bulk-cancelled",
        count: await queue.cancelTasks(filter),
      };
    }
    case "pause-queue":
    case "resume-queue": {
      const queueName = field(form, "queue");
      if (name === "pause-queue") await queue.queues.pause(queueName);
      else await queue.queues.resume(queueName);
      return { notice: name === "pause-queue" ? "paused" : "resumed" };
    }
    case "pause-schedule":
    case "resume-schedule": {
      const schedule = field(form, "schedule");
      if (name === "pause-schedule") await queue.schedules.pause(schedule);
      else await queue.schedules.resume(schedule);
      return {
        notice: name === "pause-schedule"
          ? "schedule-paused"
          : "schedule-resumed",
      };
    }
    case "remove-schedule": {
      const schedule = field(form, "schedule");
      if (!(await queue.schedules.remove(schedule))) {
        throw new BadActionError(`There is no schedule '${schedule}'.`, 404);
      }
      return { notice: "schedule-removed" };
    }
    case "prune": {
      const statuses = field(form, "statuses").split(",");
      if (
        !statuses.every((s) =>
          (FINAL_STATUSES as readonly string[]).includes(s)
        )
      ) {
        throw new BadActionError("Prune takes final statuses only.");
      }
      const hours = Number(field(form, "hours"));
      if (!Number.isFinite(hours) || hours < 0) {
        throw new BadActionError("'hours' must be a number >= 0.");
      }
      const count = await queue.prune({
        olderThan: Math.round(hours * 3_600_000),
        statuses: statuses as FinalStatus[],
      });
      return { notice: "pruned", count };
    }
    default:
      throw new BadActionError(`There is no action '${name}'.`, 404);
  }
}
