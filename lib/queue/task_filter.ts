/**
 * `TaskFilter`, the selection of the bulk operations (`cancelTasks`,
 * `requeueTasks`, `deleteTasks`): checked here and turned into the
 * storage-shaped {@linkcode TaskFilterQuery} for one operation.
 *
 * @module
 */
import { TASK_STATUSES } from "../core/statuses.ts";
import type { Clock, TaskId, TaskStatus } from "../core/types.ts";
import {
  checkDuration,
  checkOptions,
  optionKeys,
  show,
} from "../core/validate.ts";
import type { TaskFilterQuery } from "../storage/backend.ts";

/**
 * Which tasks a bulk operation acts on: every condition given must hold;
 * a list matches any of its items. Times are `Date`s or epoch ms.
 *
 * @example Failed "email" tasks of the last day
 * ```ts
 * import type { TaskFilter } from "sitq";
 *
 * const filter: TaskFilter = { status: "failed", name: "email", createdBefore: Date.now() };
 * ```
 */
export interface TaskFilter {
  /** Only the tasks with these ids (as returned by `enqueue`). */
  ids?: readonly (TaskId | number)[];
  /** Only tasks in this status (or these). */
  status?: TaskStatus | readonly TaskStatus[];
  /** Only tasks of this name (or these). */
  name?: string | readonly string[];
  /** Only tasks in this queue (or these). */
  queue?: string | readonly string[];
  /** Only tasks created before this time. */
  createdBefore?: Date | number;
  /** Only tasks that finished before this time (unfinished ones never match). */
  finishedBefore?: Date | number;
  /**
   * Only tasks older than this many ms: since they finished (completed,
   * failed, cancelled) or, unfinished, since they were created.
   */
  olderThan?: number;
}

const FILTER_KEYS = optionKeys<TaskFilter>({
  ids: true,
  status: true,
  name: true,
  queue: true,
  createdBefore: true,
  finishedBefore: true,
  olderThan: true,
});

/** `value` as a list of strings, checked; undefined stays undefined. */
function stringList(
  value: string | readonly string[] | undefined,
  action: string,
  option: string,
): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a string or an array of strings: current value is ${
        show(value)
      }`,
    );
  }
  return list;
}

function epochMs(
  value: Date | number | undefined,
  action: string,
  option: string,
): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a valid Date or epoch milliseconds: current value is ${
        show(value)
      }`,
    );
  }
  return ms;
}

/**
 * Checks `filter` and narrows it to `applicable` statuses (a filter's
 * statuses outside them are skipped); undefined when nothing can match.
 *
 * @throws {TypeError | RangeError} If the filter is invalid.
 */
export function toFilterQuery(
  filter: TaskFilter,
  applicable: readonly TaskStatus[],
  clock: Clock,
  action: string,
): TaskFilterQuery | undefined {
  checkOptions(filter, FILTER_KEYS, action);
  if (filter === undefined) {
    throw new TypeError(`Cannot ${action} as the filter is missing`);
  }
  const statuses = stringList(filter.status, action, "status");
  for (const status of statuses ?? []) {
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      throw new RangeError(
        `Cannot ${action} as 'status' may only hold ${
          TASK_STATUSES.join(", ")
        }: current value is ${JSON.stringify(status)}`,
      );
    }
  }
  const query: TaskFilterQuery = {
    statuses: statuses === undefined
      ? applicable
      : applicable.filter((status) => statuses.includes(status)),
  };
  if (query.statuses.length === 0) return undefined;
  const names = stringList(filter.name, action, "name");
  const queues = stringList(filter.queue, action, "queue");
  // An empty list matches nothing (and `in ()` is not valid SQL).
  if (names?.length === 0 || queues?.length === 0) return undefined;
  if (filter.ids !== undefined) {
    if (
      !Array.isArray(filter.ids) ||
      filter.ids.some((id) => !Number.isSafeInteger(id) || Number(id) < 1)
    ) {
      throw new TypeError(
        `Cannot ${action} as 'ids' must be an array of task ids (positive integers): current value is ${
          show(filter.ids)
        }`,
      );
    }
    if (filter.ids.length === 0) return undefined;
    query.ids = filter.ids.map(Number);
  }
  if (names !== undefined) query.names = names;
  if (queues !== undefined) query.queues = queues;
  const createdBefore = epochMs(filter.createdBefore, action, "createdBefore");
  if (createdBefore !== undefined) query.createdBefore = createdBefore;
  const finishedBefore = epochMs(
    filter.finishedBefore,
    action,
    "finishedBefore",
  );
  if (finishedBefore !== undefined) query.finishedBefore = finishedBefore;
  if (filter.olderThan !== undefined) {
    checkDuration(filter.olderThan, action, "olderThan");
    query.endedOrCreatedBefore = clock.now() - filter.olderThan;
  }
  return query;
}

/** Whether `filter` has no condition at all (`{}`). */
export function isEmptyFilter(filter: TaskFilter): boolean {
  return typeof filter === "object" && filter !== null &&
    Object.values(filter).every((value) => value === undefined);
}
