/**
 * Insert a graph: the tasks of a workflow and the edges between them, in
 * the caller's write transaction, set-wise: one multi-row insert per 500
 * tasks and per 500 edges, whatever the shape (a fan-out of 10,000 is 20
 * task statements and 20 edge statements).
 *
 * Parameters: the {@linkcode NewGraphTask}s, whose parents are other
 * tasks of the batch (`index`) or stored tasks (`id`). Steps:
 * 1. The graph is checked (`checkGraph`: no self-dependency, no step out
 *    of the batch, no cycle) before any statement.
 * 2. The stored parents are read, and on PostgreSQL locked (`for share`,
 *    in id order): a parent settling concurrently either committed before
 *    (its status is read here) or waits for this transaction and then sees
 *    its edges. An id that no task has refuses the batch, nothing written.
 * 3. Tasks are inserted `waiting` with the number of edges that hold them
 *    back (`pending_parents`), or `queued` when none does (no parent, or
 *    every stored parent completed, or ended badly on a run-anyway edge).
 * 4. Edges are inserted, those already met marked satisfied.
 * 5. Stored parents that failed or were cancelled cancel their new
 *    children at once, as their settlement would have (`release_dependents.ts`).
 *
 * Returns the ids in the order of the tasks.
 *
 * @module
 */
import type { Kysely } from "kysely";
import { checkGraph, unknownTasksError } from "../../core/workflow.ts";
import type { TaskStatus } from "../../core/types.ts";
import type { NewGraphTask } from "../backend.ts";
import type { ClaimLocking } from "../dialect.ts";
import { PreparedRows, statementSlices } from "../prepared_query.ts";
import type { DependenciesTable, SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";
import { IdListQuery } from "./id_list_query.ts";
import { newTaskColumns } from "./insert_tasks.ts";
import type { Dependents } from "./release_dependents.ts";

/** A task row as the graph insert writes it. */
interface GraphRow {
  name: string;
  args: string;
  status: TaskStatus;
  priority: number;
  runAt: number;
  maxAttempts: number;
  timeout: number | null;
  createdAt: number;
  pending: number;
  queue: string | null;
}

const GRAPH_FIELDS = [
  "name",
  "args",
  "status",
  "priority",
  "runAt",
  "maxAttempts",
  "timeout",
  "createdAt",
  "pending",
  "queue",
] as const satisfies readonly (keyof GraphRow)[];

const EDGE_FIELDS = [
  "child_id",
  "parent_id",
  "position",
  "run_anyway",
  "satisfied",
] as const satisfies readonly (keyof DependenciesTable)[];

/** What a graph insert returns. */
export interface GraphInserted {
  /** The ids, in the order of the tasks. */
  ids: number[];
  /** The earliest run time among the tasks inserted `queued`, if any. */
  queuedRunAt?: number;
}

/** The graph insert, compiled for one Kysely instance. */
export class InsertGraph {
  readonly #tasks: PreparedRows<GraphRow, { id: number }>;
  readonly #edges: PreparedRows<DependenciesTable>;
  readonly #parents: IdListQuery<
    Record<string, never>,
    { id: number; status: TaskStatus }
  >;
  readonly #dependents: Dependents;

  /**
   * @param db The instance the statements are compiled for.
   * @param locking `"skip-locked"`: concurrent writers; lock stored parents.
   * @param dependents The dependency statements, for stored parents that
   *   already ended badly.
   */
  constructor(
    db: Kysely<SitqSchema>,
    locking: ClaimLocking,
    dependents: Dependents,
  ) {
    this.#dependents = dependents;
    this.#tasks = new PreparedRows<GraphRow, { id: number }>(
      GRAPH_FIELDS,
      (rows) =>
        db.insertInto("sitq_tasks").values(rows.map((row) => ({
          ...newTaskColumns(row),
          status: row.status,
          pending_parents: row.pending,
        }))).returning("id"),
    );
    this.#edges = new PreparedRows<DependenciesTable>(
      EDGE_FIELDS,
      (rows) => db.insertInto("sitq_dependencies").values(rows),
    );
    this.#parents = new IdListQuery((ids) => {
      const select = db.selectFrom("sitq_tasks").select(["id", "status"])
        .where("id", "in", ids).orderBy("id");
      return locking === "skip-locked" ? select.forShare() : select;
    });
  }

  /** Inserts `tasks` and their edges; see the module doc. */
  *run(tasks: readonly NewGraphTask[]): WriteProgram<GraphInserted> {
    checkGraph(tasks.map((task) => task.parents));
    const stored = yield* this.#storedParents(tasks);
    const rows: GraphRow[] = tasks.map((task) => {
      let pending = 0;
      for (const parent of uniqueParents(task)) {
        if (!met(parent, stored)) pending++;
      }
      return {
        name: task.name,
        args: task.args,
        status: pending > 0 ? "waiting" : "queued",
        priority: task.priority,
        runAt: task.runAt,
        maxAttempts: task.maxAttempts,
        timeout: task.timeout,
        createdAt: task.createdAt,
        pending,
        queue: task.queue ?? null,
      };
    });
    const ids: number[] = [];
    for (const slice of statementSlices(rows)) {
      const { rows: inserted } = yield* statement(this.#tasks.with(slice));
      const sliceIds = inserted.map((row) => Number(row.id));
      // RETURNING order is unspecified; ids increase in insert order.
      sliceIds.sort((a, b) => a - b);
      for (const id of sliceIds) ids.push(id);
    }
    const edges: DependenciesTable[] = [];
    tasks.forEach((task, child) => {
      uniqueParents(task).forEach((parent, position) => {
        edges.push({
          child_id: ids[child]!,
          parent_id: parent.index === undefined
            ? parent.id
            : ids[parent.index]!,
          position,
          run_anyway: parent.runAnyway ? 1 : 0,
          satisfied: met(parent, stored) ? 1 : 0,
        });
      });
    });
    for (const slice of statementSlices(edges)) {
      yield* statement(this.#edges.with(slice));
    }
    const endedBadly = [...stored].filter(([, status]) =>
      status === "failed" || status === "cancelled"
    ).map(([id]) => id);
    if (endedBadly.length > 0) {
      yield* this.#dependents.afterEnded(
        endedBadly,
        tasks[0]!.createdAt,
        false,
      );
    }
    let queuedRunAt: number | undefined;
    for (const row of rows) {
      if (row.status === "queued") {
        queuedRunAt = Math.min(queuedRunAt ?? Infinity, row.runAt);
      }
    }
    return queuedRunAt === undefined ? { ids } : { ids, queuedRunAt };
  }

  /** The stored parents' statuses, by id; throws for ids no task has. */
  *#storedParents(
    tasks: readonly NewGraphTask[],
  ): WriteProgram<Map<number, TaskStatus>> {
    const wanted = new Set<number>();
    for (const task of tasks) {
      for (const parent of task.parents) {
        if (parent.id !== undefined) wanted.add(parent.id);
      }
    }
    const stored = new Map<number, TaskStatus>();
    if (wanted.size === 0) return stored;
    const ids = [...wanted].sort((a, b) => a - b);
    for (const query of this.#parents.slices(ids, {})) {
      for (const row of (yield* statement(query)).rows) {
        stored.set(Number(row.id), row.status);
      }
    }
    const missing = ids.filter((id) => !stored.has(id));
    if (missing.length > 0) throw unknownTasksError(missing);
    return stored;
  }
}

/** A task's parents with repeats dropped (the first one given counts). */
function uniqueParents(task: NewGraphTask): NewGraphTask["parents"] {
  if (task.parents.length < 2) return task.parents;
  const seen = new Set<string>();
  return task.parents.filter((parent) => {
    const key = parent.index === undefined
      ? `id:${parent.id}`
      : `index:${parent.index}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether an edge is met at insert: its stored parent is done with it. */
function met(
  parent: NewGraphTask["parents"][number],
  stored: ReadonlyMap<number, TaskStatus>,
): boolean {
  if (parent.id === undefined) return false;
  const status = stored.get(parent.id);
  return status === "completed" ||
    (parent.runAnyway && (status === "failed" || status === "cancelled"));
}
