/**
 * Reading what is stored: one task by id, or a page of tasks with their
 * attempt histories. The queue's read methods (`getResult`, `getTask`,
 * `listTasks`) come here; the row-to-record conversion is `results.ts`.
 *
 * @module
 */
import { TaskNotFoundError } from "../core/errors.ts";
import type { Serializer } from "../core/serializer.ts";
import type { TaskRecord } from "../core/types.ts";
import { checkInteger } from "../core/validate.ts";
import type { Backend, TaskRow } from "../storage/backend.ts";
import { type ListTasksOptions, toListQuery } from "./options.ts";
import { rowToRecord, type TaskPage } from "./results.ts";

/**
 * The stored row of task `id`.
 *
 * @throws {TypeError | RangeError} If `id` is not an integer >= 1.
 * @throws {TaskNotFoundError} If no task has that id.
 */
export async function readTaskRow(
  backend: Backend,
  id: number,
): Promise<TaskRow> {
  checkInteger(id, "look up task", "id", 1);
  const row = await backend.getTask(id);
  if (row === undefined) throw new TaskNotFoundError(id);
  return row;
}

/**
 * Everything stored about task `id`, its attempt history included.
 *
 * @throws {TypeError | RangeError} If `id` is not an integer >= 1.
 * @throws {TaskNotFoundError} If no task has that id.
 */
export async function readTaskRecord(
  backend: Backend,
  serializer: Serializer,
  id: number,
): Promise<TaskRecord> {
  const row = await readTaskRow(backend, id);
  return rowToRecord(row, await backend.getAttempts(id), serializer);
}

/**
 * One page of tasks, newest first, each with its history, and the cursor of
 * the next page when there is one.
 *
 * @throws {TypeError | RangeError} If an option is invalid.
 */
export async function readTaskPage(
  backend: Backend,
  serializer: Serializer,
  options: ListTasksOptions,
): Promise<TaskPage> {
  const query = toListQuery(options);
  const rows = await backend.listTasks(query);
  // The query asks for one row more than a page holds: that row's presence
  // says a next page exists.
  const page = rows.slice(0, query.limit - 1);
  const tasks = await Promise.all(
    page.map(async (row) =>
      rowToRecord(row, await backend.getAttempts(row.id), serializer)
    ),
  );
  const last = page.at(-1);
  return rows.length > page.length && last !== undefined
    ? { tasks, nextCursor: String(last.id) }
    : { tasks };
}
