/**
 * A running task's view of its parents (the tasks it depended on): the
 * `parents`, `parentResult` and `parentResults` of its `TaskContext`,
 * read from the backend when the handler asks, never before, so tasks
 * without dependencies cost nothing.
 *
 * @module
 */
import { InvalidStateError } from "../core/errors.ts";
import { decodeResult, type Serializer } from "../core/serializer.ts";
import { parseStoredError } from "../core/stored_error.ts";
import type { ParentResult, TaskContext } from "../core/task.ts";
import type { FinalTaskResult, TaskId } from "../core/types.ts";
import type { ParentRow } from "../storage/backend.ts";

/** The context methods that read parents, for task `id`. */
export type ParentAccess = Pick<
  TaskContext,
  "parents" | "parentResult" | "parentResults"
>;

/** The final result a parent row describes. */
function toResult(row: ParentRow, serializer: Serializer): FinalTaskResult {
  switch (row.status) {
    case "completed":
      return {
        status: "completed",
        value: decodeResult(serializer, row.result),
        attempts: row.attempts,
      };
    case "failed":
      return {
        status: "failed",
        error: parseStoredError(row.error) ??
          { name: "Error", message: "unknown error" },
        attempts: row.attempts,
      };
    default:
      // A child runs only once every parent is completed, or ended badly
      // on an edge that runs anyway: what is left is cancelled.
      return { status: "cancelled", attempts: row.attempts };
  }
}

/**
 * The parent methods of task `id`'s context.
 *
 * @param id The running task.
 * @param readParents Reads its parents (the backend's `getParents`).
 * @param serializer Reads their results.
 */
export function parentAccess(
  id: number,
  readParents: (id: number) => Promise<ParentRow[]>,
  serializer: Serializer,
): ParentAccess {
  const parents = async (): Promise<ParentResult[]> =>
    (await readParents(id)).map((row) => ({
      id: row.id as TaskId,
      name: row.name,
      result: toResult(row, serializer),
    }));
  const named = async (name: string) =>
    (await parents()).filter((parent) => parent.name === name);
  return {
    parents,
    async parentResult<Result>(task: { readonly name: string }) {
      const found = await named(task?.name);
      if (found.length !== 1) {
        throw new InvalidStateError(
          `Cannot read the result of the parent "${task?.name}" of task ${id}: it has ${
            found.length === 0 ? "no parent" : `${found.length} parents`
          } of that name${
            found.length === 0 ? "" : "; use this.parentResults() for several"
          }`,
        );
      }
      const { result } = found[0]!;
      if (result.status !== "completed") {
        throw new InvalidStateError(
          `Cannot read the result of the parent "${task.name}" (task ${
            found[0]!.id
          }) of task ${id}: it ${
            result.status === "failed" ? "failed" : "was cancelled"
          } (the dependency runs anyway); see this.parents()`,
        );
      }
      return result.value as Result;
    },
    async parentResults<Result>(task: { readonly name: string }) {
      const values: Result[] = [];
      for (const parent of await named(task?.name)) {
        if (parent.result.status === "completed") {
          values.push(parent.result.value as Result);
        }
      }
      return values;
    },
  };
}
