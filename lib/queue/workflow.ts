/**
 * Workflows on the queue's side: {@linkcode Workflow}, which collects
 * steps (a task, its arguments, the steps or stored tasks it depends on)
 * before any of them has an id, and the enqueue that turns them into rows
 * for the backend's graph insert, in one transaction. The rules of
 * dependencies are `core/workflow.ts`; how they are stored and released,
 * `storage/queries/insert_graph.ts` and `release_dependents.ts`.
 *
 * @module
 */
import type { TaskDeclaration } from "../core/declaration.ts";
import { mergeRunOptions, type RunOptions } from "../core/task.ts";
import type { DatabaseTransaction } from "../core/transaction.ts";
import type { TaskId } from "../core/types.ts";
import { checkOptionsObject } from "../core/validate.ts";
import { checkGraph } from "../core/workflow.ts";
import type { GraphParent, NewGraphTask } from "../storage/backend.ts";
import { type InsertContext, newTaskRows } from "./enqueue.ts";

/**
 * A step of a {@linkcode Workflow}: what `add()` returns, to name as a
 * dependency of later steps and to find the step's id once enqueued.
 *
 * @typeParam Result The step's task's result type.
 */
export interface WorkflowStep<Result = unknown> {
  /** The step's place in its workflow: 0 for the first `add()`. */
  readonly index: number;
  /** The step's task name. */
  readonly name: string;
  /** Type-level only: never present at run time. */
  readonly __sitqResult?: Result;
}

/**
 * One dependency of a step: a step of the same workflow, or the id of a
 * task already enqueued; plain, or `{ on, runAnyway: true }` for a child
 * that runs even if that parent fails for good or is cancelled (by
 * default the child is cancelled with it).
 */
export type Dependency =
  | WorkflowStep<unknown>
  | TaskId<unknown>
  | {
    readonly on: WorkflowStep<unknown> | TaskId<unknown>;
    readonly runAnyway: boolean;
  };

/**
 * Options of one step: its run options (a delay, a priority, attempts, a
 * timeout; not a unique key) and what it depends on.
 */
export interface StepOptions
  extends Omit<RunOptions, "uniqueKey" | "uniqueFor" | "onDuplicate"> {
  /**
   * The steps of this workflow, or ids of enqueued tasks, that must
   * complete before this step runs, in the order `this.parents()` lists
   * them.
   */
  dependsOn?: readonly Dependency[];
}

/** A step as collected: its task, arguments and options. */
interface StepEntry {
  task: TaskDeclaration<never, unknown> | TaskDeclaration<unknown[], unknown>;
  args: unknown[];
  options: StepOptions | undefined;
}

// Which workflow a step belongs to, so that a step of another workflow is
// refused rather than taken for this one's step of the same index; and
// each workflow's steps, kept out of its public face.
const owners = new WeakMap<WorkflowStep<unknown>, Workflow>();
const stepsOf = new WeakMap<Workflow, StepEntry[]>();

function entries(flow: Workflow): StepEntry[] {
  return stepsOf.get(flow) ?? [];
}

function owns(flow: Workflow, step: WorkflowStep<unknown>): boolean {
  return owners.get(step) === flow;
}

/**
 * A graph of tasks to enqueue together: steps that depend on each other
 * (fan-out, fan-in, any acyclic graph) or on tasks already enqueued. A
 * step waits (`waiting`) until every step it depends on has completed,
 * then it is queued; a running step reads its parents' results with
 * `this.parentResult(task)`. Enqueue it with `queue.enqueueWorkflow(flow)`
 * (or in your transaction, `queue.inTransaction(trx).enqueueWorkflow`):
 * all of it or nothing is written, and cycles, self-dependencies and
 * unknown ids are refused with a `WorkflowError` first.
 *
 * @example Download, process, analyse
 * ```ts
 * import { SQLiteBackend, TaskQueue, type TaskContext, Workflow } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const download = queue.task("download", (url: string) => ({ url, rows: 1000 }));
 * const analyse = queue.task("analyse", async function (this: TaskContext) {
 *   const data = await this.parentResult(download);
 *   return `${data.rows} rows from ${data.url}`;
 * });
 *
 * const flow = new Workflow();
 * const fetched = flow.add(download, ["https://example.com/data.csv"]);
 * const report = flow.add(analyse, [], { dependsOn: [fetched] });
 * const ids = await queue.enqueueWorkflow(flow);
 *
 * const worker = queue.worker();
 * await worker.start();
 * const result = await queue.waitForResult(ids.of(report), { timeout: 5000 });
 * console.log(result.status === "completed" && result.value); // "1000 rows from https://example.com/data.csv"
 * await worker.stop();
 * await queue.close();
 * ```
 */
export class Workflow {
  /** A label for messages, e.g. "nightly-import". */
  readonly name: string | undefined;

  /**
   * Creates an empty workflow; add steps with {@linkcode Workflow.add}.
   *
   * @param name A label for messages, e.g. "nightly-import".
   */
  constructor(name?: string) {
    this.name = name;
    stepsOf.set(this, []);
  }

  /** How many steps were added. */
  get size(): number {
    return entries(this).length;
  }

  /**
   * Adds a step: a run of `task` with `args`, after the steps or tasks in
   * `options.dependsOn`.
   *
   * @typeParam Args The task's argument list.
   * @typeParam Result The task's result.
   * @param task A task or declaration (registered on the queue that
   * enqueues the workflow); its `with()` options apply.
   * @param args The handler's arguments.
   * @param options Run options and dependencies.
   * @returns The step, to depend on and to find its id by.
   * @throws {TypeError | RangeError} If an option is invalid, or it has a
   * unique key (not supported on steps).
   */
  add<Args extends unknown[], Result>(
    task: TaskDeclaration<Args, Result>,
    args: NoInfer<Args>,
    options?: StepOptions,
  ): WorkflowStep<Result> {
    checkOptionsObject(options, `add task "${task?.name}" to a workflow`);
    if (!Array.isArray(options?.dependsOn ?? [])) {
      throw new TypeError(
        `Cannot add task "${task?.name}" to a workflow as 'dependsOn' must be an array of steps or task ids`,
      );
    }
    const steps = entries(this);
    const step: WorkflowStep<Result> = Object.freeze({
      index: steps.length,
      name: task?.name,
    });
    steps.push({
      task: task as StepEntry["task"],
      args: args as unknown[],
      options,
    });
    owners.set(step, this);
    return step;
  }
}

/**
 * The ids of an enqueued workflow's tasks.
 *
 * @example
 * ```ts ignore
 * const ids = await queue.enqueueWorkflow(flow);
 * const result = await queue.waitForResult(ids.of(lastStep));
 * ```
 */
export interface EnqueuedWorkflow {
  /** Every step's task id, in the order the steps were added. */
  readonly ids: readonly TaskId[];
  /** The task id of `step`, typed with its result. */
  of<Result>(step: WorkflowStep<Result>): TaskId<Result>;
}

/** The dependency of `dependency`, as the backend takes it. */
function toParent(
  flow: Workflow,
  dependency: Dependency,
  label: string,
): GraphParent {
  const wrapped = typeof dependency === "object" && dependency !== null &&
    "on" in dependency;
  const on = wrapped ? dependency.on : dependency;
  const runAnyway = wrapped ? dependency.runAnyway === true : false;
  if (typeof on === "number") {
    if (!Number.isSafeInteger(on) || on < 1) {
      throw new RangeError(
        `Cannot enqueue the workflow as ${label} depends on ${on}, which is not a task id (an integer >= 1)`,
      );
    }
    return { id: on, runAnyway };
  }
  if (typeof on !== "object" || on === null || typeof on.index !== "number") {
    throw new TypeError(
      `Cannot enqueue the workflow as ${label} has a dependency that is neither a step of a workflow nor a task id: current value is ${typeof on}`,
    );
  }
  // A step of another workflow: an index no step of this one has.
  return { index: owns(flow, on) ? on.index : -1, runAnyway };
}

/**
 * The rows for `flow`'s steps, checked: registered tasks, valid options
 * and arguments, an acyclic graph. Nothing is written here.
 *
 * @throws {WorkflowError} For a cycle, a self-dependency, or a step of
 * another workflow.
 */
export function workflowRows(
  flow: Workflow,
  queue: InsertContext,
): NewGraphTask[] {
  if (!(flow instanceof Workflow)) {
    throw new TypeError(
      `Cannot enqueue a workflow as 'workflow' must be a Workflow (new Workflow(), then add() its steps): current value is ${typeof flow}`,
    );
  }
  const label = (index: number) => {
    const step = entries(flow)[index];
    return `step ${index}${step ? ` ("${step.task?.name}")` : ""}`;
  };
  const tasks = entries(flow).map(({ task, args, options }, index) => {
    queue.checkRegistered(task);
    const { dependsOn = [], ...runOptions } = options ?? {};
    for (const key of ["uniqueKey", "uniqueFor", "onDuplicate"] as const) {
      if ((runOptions as RunOptions)[key] !== undefined) {
        throw new TypeError(
          `Cannot enqueue the workflow as ${
            label(index)
          } has '${key}': unique keys are not supported on workflow steps`,
        );
      }
    }
    const merged = mergeRunOptions(task.runOptions, runOptions);
    if (merged?.uniqueKey !== undefined) {
      throw new TypeError(
        `Cannot enqueue the workflow as ${
          label(index)
        } has a 'uniqueKey' (from task.with()): unique keys are not supported on workflow steps`,
      );
    }
    const [row] = newTaskRows(task, [args], merged, queue);
    const { uniqueKey: _k, uniqueFor: _f, onDuplicate: _d, ...plain } = row!;
    return {
      ...plain,
      parents: dependsOn.map((dependency) =>
        toParent(flow, dependency, label(index))
      ),
    };
  });
  checkGraph(tasks.map((task) => task.parents), label);
  return tasks;
}

/**
 * Enqueues `flow` through `queue`'s backend, in its own transaction or the
 * caller's; returns the ids of its steps.
 */
export async function enqueueWorkflow(
  flow: Workflow,
  queue: InsertContext,
  transaction?: DatabaseTransaction,
): Promise<EnqueuedWorkflow> {
  const rows = workflowRows(flow, queue);
  const ids =
    (transaction === undefined
      ? await queue.backend.insertGraph(rows)
      : await queue.backend.insertGraph(rows, { transaction })) as TaskId[];
  const frozen = Object.freeze([...ids]);
  return Object.freeze({
    ids: frozen,
    of<Result>(step: WorkflowStep<Result>): TaskId<Result> {
      const id = owns(flow, step) ? frozen[step.index] : undefined;
      if (id === undefined) {
        throw new TypeError(
          "Cannot find the id of a step that is not part of this workflow (or was added after it was enqueued)",
        );
      }
      return id as TaskId<Result>;
    },
  });
}
