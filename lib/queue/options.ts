/**
 * The options of `TaskQueue`, `listTasks` and `prune` (`waitForResult`'s are
 * in `result_watcher.ts`, beside the timers they set): each type, its key
 * list (written once with `optionKeys`, so it cannot drift from the type),
 * and the check that turns what a caller passed into what the queue uses.
 * Every message reads "Cannot <action> as '<option>' must be <rule>: current
 * value is <value>".
 *
 * @module
 */
import { checkQueueName } from "../core/queue_names.ts";
import { FINAL_STATUSES, TASK_STATUSES } from "../core/statuses.ts";
import type { Serializer } from "../core/serializer.ts";
import type { Clock, FinalStatus, TaskStatus } from "../core/types.ts";
import {
  checkDuration,
  checkInteger,
  checkOptions,
  checkWellFormed,
  optionKeys,
  show,
} from "../core/validate.ts";
import { checkSharedInputs } from "../core/validate_shapes.ts";
import type { ListQuery } from "../storage/backend.ts";

/** Options for {@linkcode TaskQueue} and {@linkcode QueueAdmin}. */
export interface TaskQueueOptions {
  /**
   * How arguments, results and progress are stored.
   *
   * @default {new SuperJsonSerializer()}
   */
  serializer?: Serializer;
  /** The time source for delays and run times; inject one in tests. */
  clock?: Clock;
}

/** Filters and paging for {@linkcode TaskQueue.listTasks}. */
export interface ListTasksOptions {
  /**
   * Only tasks in this status, or in any status of an array
   * (`["queued", "running"]`; an empty array matches none). All statuses
   * when absent.
   */
  status?: TaskStatus | readonly TaskStatus[];
  /** Only tasks of this name. */
  name?: string;
  /** Only tasks of this queue. */
  queue?: string;
  /**
   * At most this many tasks.
   *
   * @default {100}
   */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

/** Options for {@linkcode TaskQueue.prune}. */
export interface PruneOptions {
  /**
   * Delete tasks that finished more than this many milliseconds ago, or
   * before this date.
   */
  olderThan: number | Date;
  /**
   * Which final statuses to delete.
   *
   * @default {["completed", "cancelled"]}
   */
  statuses?: ReadonlyArray<FinalStatus>;
}

const QUEUE_OPTION_KEYS = optionKeys<TaskQueueOptions>(
  { serializer: true, clock: true },
);

/**
 * Checks the options of `new TaskQueue(backend, options)` (and of
 * `new QueueAdmin`): an object of known keys whose serializer and clock
 * have the methods the queue calls.
 *
 * @param action What is being done, for the message: "create TaskQueue".
 * @throws {TypeError} Naming the first bad option.
 */
export function checkQueueOptions(
  options: TaskQueueOptions,
  action = "create TaskQueue",
): void {
  checkOptions(options, QUEUE_OPTION_KEYS, action);
  checkSharedInputs(options, action);
}

const LIST_OPTION_KEYS = optionKeys<ListTasksOptions>(
  { status: true, name: true, queue: true, limit: true, cursor: true },
);

/**
 * The backend query `listTasks` options ask for, one more row than the page
 * holds (the extra row tells whether a next page exists).
 *
 * @throws {TypeError | RangeError} If a filter, the limit or the cursor is
 * invalid.
 */
export function toListQuery(options: ListTasksOptions): ListQuery {
  const action = "list tasks";
  checkOptions(options, LIST_OPTION_KEYS, action);
  const limit = options.limit ?? 100;
  checkInteger(limit, action, "limit", 1);
  const statuses = options.status === undefined
    ? undefined
    : typeof options.status === "string"
    ? [options.status]
    : options.status;
  // From JavaScript or a query string anything can come: only an array may
  // be iterated (a number is not iterable, a string would be read letter by
  // letter).
  if (statuses !== undefined && !Array.isArray(statuses)) {
    throw new TypeError(
      `Cannot list tasks as 'status' must be a status or an array of statuses: current value is ${
        show(statuses)
      }`,
    );
  }
  for (const status of statuses ?? []) {
    if (!TASK_STATUSES.includes(status)) {
      throw new RangeError(
        `Cannot list tasks as 'status' must be one of ${
          TASK_STATUSES.join(", ")
        }: current value is ${JSON.stringify(status)}`,
      );
    }
  }
  if (options.name !== undefined && typeof options.name !== "string") {
    throw new TypeError(
      `Cannot list tasks as 'name' must be a task name string: current value is ${typeof options
        .name}`,
    );
  }
  // A lone surrogate would reach the database as U+FFFD and match other
  // names' tasks; no task can have such a name anyway.
  if (options.name !== undefined) {
    checkWellFormed(options.name, action, "name");
  }
  if (options.queue !== undefined) {
    checkQueueName(options.queue, action, "queue");
  }
  let beforeId: number | undefined;
  if (options.cursor !== undefined) {
    // Only a string: Number() would also accept true, [5] or " 5 ".
    beforeId = typeof options.cursor === "string" &&
        /^[1-9][0-9]*$/.test(options.cursor)
      ? Number(options.cursor)
      : Number.NaN;
    if (!Number.isSafeInteger(beforeId) || beforeId < 1) {
      throw new TypeError(
        `Cannot list tasks as 'cursor' must be a nextCursor from an earlier page: current value is ${
          show(options.cursor)
        }`,
      );
    }
  }
  const query: ListQuery = {
    statuses,
    name: options.name,
    limit: limit + 1,
    beforeId,
  };
  if (options.queue !== undefined) query.queue = options.queue;
  return query;
}

/** What `prune` deletes: tasks in `statuses` that finished before `before`. */
export interface PruneQuery {
  /** Final statuses only. */
  statuses: readonly FinalStatus[];
  /** Epoch ms. */
  before: number;
}

// What `prune` deletes unless told: failed tasks are kept for inspection.
const DEFAULT_PRUNE_STATUSES: readonly FinalStatus[] = [
  "completed",
  "cancelled",
];

const PRUNE_OPTION_KEYS = optionKeys<PruneOptions>(
  { olderThan: true, statuses: true },
);

/**
 * The statuses and cutoff that `prune` options ask for; a duration is
 * counted back from `clock.now()`.
 *
 * @throws {TypeError | RangeError} If `olderThan` is neither a valid `Date`
 * nor a finite number of milliseconds >= 0, or `statuses` holds a status
 * that is not final.
 */
export function toPruneQuery(options: PruneOptions, clock: Clock): PruneQuery {
  const action = "prune tasks";
  checkOptions(options, PRUNE_OPTION_KEYS, action);
  const { olderThan } = options;
  let before: number;
  if (olderThan instanceof Date) {
    before = olderThan.getTime();
    if (Number.isNaN(before)) {
      throw new TypeError(
        `Cannot ${action} as 'olderThan' is an invalid Date`,
      );
    }
  } else {
    checkDuration(olderThan, action, "olderThan");
    before = clock.now() - olderThan;
  }
  const statuses = options.statuses ?? DEFAULT_PRUNE_STATUSES;
  // A lone status string would otherwise be read letter by letter.
  if (!Array.isArray(statuses)) {
    throw new TypeError(
      `Cannot ${action} as 'statuses' must be an array of final statuses: current value is ${
        show(statuses)
      }`,
    );
  }
  for (const status of statuses) {
    if (!FINAL_STATUSES.includes(status)) {
      throw new RangeError(
        `Cannot ${action} as 'statuses' may only hold ${
          listInWords(FINAL_STATUSES)
        }: current value is ${JSON.stringify(status)}`,
      );
    }
  }
  return { statuses, before };
}

/** "a, b or c". */
function listInWords(items: readonly string[]): string {
  return items.length < 2
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}
