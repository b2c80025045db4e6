/**
 * Workflows: the rules of dependencies between tasks, shared by the queue
 * (which builds graphs) and the backends (which store them).
 *
 * A task may depend on other tasks: its parents. It waits (`waiting`) until
 * every parent has completed, then it is queued, in the transaction that
 * settled the last one. When a parent fails for good or is cancelled, the
 * child is cancelled too (transitively, the reason recorded), unless that
 * dependency was given `runAnyway`, which counts it as met. Requeueing the
 * parent brings the tasks it cancelled back to `waiting`.
 *
 * A graph is checked before anything is written: no task may depend on
 * itself, a step must belong to the graph, and the graph must be acyclic.
 *
 * @module
 */
import { SitqError } from "./errors.ts";

/** Why a graph was refused; see {@linkcode WorkflowError}. */
export type WorkflowErrorReason =
  | "cycle"
  | "self-dependency"
  | "unknown-step"
  | "unknown-task";

/**
 * A workflow refused before anything was written (code `INVALID_WORKFLOW`):
 * a cycle, a step that depends on itself, a dependency on a step of
 * another workflow, or on a task id that no stored task has.
 *
 * @example
 * ```ts
 * import { SQLiteBackend, TaskQueue, Workflow, WorkflowError } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const step = queue.task("step", () => 1);
 * const flow = new Workflow();
 * flow.add(step, [], { dependsOn: [12345] });
 * try {
 *   await queue.enqueueWorkflow(flow);
 * } catch (error) {
 *   if (error instanceof WorkflowError) console.log(error.reason); // "unknown-task"
 * }
 * await queue.close();
 * ```
 */
export class WorkflowError extends SitqError {
  /** What is wrong with the graph. */
  readonly reason: WorkflowErrorReason;
  /**
   * The steps concerned, by their index in the workflow (the order of
   * `add()` calls): those on a cycle, or the step that depends on itself or
   * on something unknown.
   */
  readonly steps: readonly number[];
  /** For `unknown-task`: the ids no stored task has. */
  readonly taskIds: readonly number[];

  /**
   * Creates the error.
   *
   * @param reason What is wrong.
   * @param message What was refused and what to do instead.
   * @param steps The steps concerned.
   * @param taskIds For `unknown-task`, the missing ids.
   */
  constructor(
    reason: WorkflowErrorReason,
    message: string,
    steps: readonly number[] = [],
    taskIds: readonly number[] = [],
  ) {
    super("INVALID_WORKFLOW", message);
    this.reason = reason;
    this.steps = Object.freeze([...steps]);
    this.taskIds = Object.freeze([...taskIds]);
  }
}

/** A step's parents as the check reads them: steps by index, or stored ids. */
export type ParentRef = { index: number } | { id: number };

/**
 * Throws unless `parents` (per step, its parents) form a graph that can be
 * stored: every `index` names a step of the graph other than the step
 * itself, and there is no cycle. Linear in steps plus edges (Kahn's
 * algorithm), so a fan-out of 10,000 costs what its edges cost.
 *
 * @param parents For each step, in order, its parents.
 * @param label How a step is named in messages, by index.
 * @throws {WorkflowError} `self-dependency`, `unknown-step` or `cycle`.
 */
export function checkGraph(
  parents: ReadonlyArray<readonly ParentRef[]>,
  label: (index: number) => string = (index) => `step ${index}`,
): void {
  const size = parents.length;
  const children: number[][] = Array.from({ length: size }, () => []);
  const waitingOn = new Array<number>(size).fill(0);
  for (let child = 0; child < size; child++) {
    for (const parent of parents[child]!) {
      if (!("index" in parent)) continue;
      const { index } = parent;
      if (index === child) {
        throw new WorkflowError(
          "self-dependency",
          `Cannot enqueue the workflow: ${
            label(child)
          } depends on itself; a task cannot wait for its own result`,
          [child],
        );
      }
      if (!Number.isInteger(index) || index < 0 || index >= size) {
        throw new WorkflowError(
          "unknown-step",
          `Cannot enqueue the workflow: ${
            label(child)
          } depends on a step that is not part of it (a step of another workflow?); add that step to this workflow, or depend on its task id once it is enqueued`,
          [child],
        );
      }
      children[index]!.push(child);
      waitingOn[child]!++;
    }
  }
  const ready: number[] = [];
  for (let step = 0; step < size; step++) {
    if (waitingOn[step] === 0) ready.push(step);
  }
  let done = 0;
  while (ready.length > 0) {
    const step = ready.pop()!;
    done++;
    for (const child of children[step]!) {
      if (--waitingOn[child]! === 0) ready.push(child);
    }
  }
  if (done === size) return;
  const onCycle: number[] = [];
  for (let step = 0; step < size; step++) {
    if (waitingOn[step]! > 0) onCycle.push(step);
  }
  throw new WorkflowError(
    "cycle",
    `Cannot enqueue the workflow: its dependencies form a cycle through ${
      onCycle.slice(0, 5).map(label).join(", ")
    }${
      onCycle.length > 5 ? ", ..." : ""
    }; each of them would wait for itself forever`,
    onCycle,
  );
}

/** The error for stored ids that no task has. */
export function unknownTasksError(ids: readonly number[]): WorkflowError {
  return new WorkflowError(
    "unknown-task",
    `Cannot enqueue the workflow: it depends on task${
      ids.length === 1 ? "" : "s"
    } ${ids.slice(0, 5).join(", ")}${
      ids.length > 5 ? ", ..." : ""
    }, which no stored task has (never enqueued, or pruned); nothing was written`,
    [],
    ids,
  );
}
