/**
 * Dependents: what becomes of the tasks that wait for tasks that just
 * ended, in the transaction that ended them (a settlement, a lease
 * recovery, a cancel, a graph insert that depends on stored tasks).
 *
 * Parameters: the ids of tasks that may have ended (their parents), `now`
 * (epoch ms). Status-driven and idempotent: each parent's current status
 * decides, and only edges not yet satisfied (`satisfied = 0`) are read, so
 * calling it again, or for a parent that did not end, changes nothing.
 * - A completed parent satisfies its edges: each child's `pending_parents`
 *   drops by the edges satisfied, and a `waiting` child whose count
 *   reaches 0 is `queued` (in the same `UPDATE`'s transaction: no poll).
 * - A parent that failed or was cancelled satisfies its `run_anyway`
 *   edges the same way, and cancels the `waiting` children of its other
 *   edges (`cancelled_by` = the parent, `error` = a `DependencyError` with
 *   code `PARENT_FAILED` or `PARENT_CANCELLED`); their own children are
 *   handled in the next round, and so on down the graph. One round per
 *   level, each set-based (a few statements per 500 ids), so a fan-out of
 *   10,000 costs linear time, never one statement per edge.
 *
 * Concurrency on PostgreSQL: every change to a child goes through its row,
 * and the children are locked first, in id order (`for update`), so two
 * transactions settling two parents of one child run one after the other
 * on it (the second sees the first's count) and never deadlock on a pair
 * of children. SQLite runs one writer at a time.
 *
 * The settlement asks first whether any of its tasks has an unsatisfied
 * edge (one index probe), so a queue without workflows pays one lookup per
 * settle batch.
 *
 * Restore ({@linkcode Dependents.restore}): after a requeue, the tasks the
 * parent's failure cancelled, whose other cancel-edge parents are all
 * fine, go back to `waiting` (or `queued` when nothing is pending),
 * transitively.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type { TaskStatus } from "../../core/types.ts";
import type { ParentRow } from "../backend.ts";
import type { ClaimLocking } from "../dialect.ts";
import { PreparedQuery } from "../prepared_query.ts";
import { QUEUED, type SitqSchema, WAITING } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";
import { IdListQuery } from "./id_list_query.ts";

const COMPLETED = sql.lit<TaskStatus>("completed");
const FAILED = sql.lit<TaskStatus>("failed");
const CANCELLED = sql.lit<TaskStatus>("cancelled");

/** What ending some parents did to their dependents. */
export interface DependentsOutcome {
  /** How many tasks went from `waiting` to `queued`. */
  released: number;
  /** The tasks cancelled because a parent failed or was cancelled. */
  cancelled: number[];
}

/** The parent of edge `d`, joined as `p`: does it satisfy the edge now? */
const satisfies = sql<boolean>`(p.status = ${COMPLETED} or (d.run_anyway = 1
  and p.status in (${FAILED}, ${CANCELLED})))`;

/** Does the parent `p` of edge `d` cancel its child now? */
const cancels = sql<
  boolean
>`(d.run_anyway = 0 and p.status in (${FAILED}, ${CANCELLED}))`;

/** The dependency statements, compiled for one Kysely instance. */
export class Dependents {
  readonly #probe: IdListQuery<Record<string, never>, { parent_id: number }>;
  readonly #lock: IdListQuery<Record<string, never>, { id: number }>;
  readonly #decrement: IdListQuery<Record<string, never>>;
  readonly #release: IdListQuery<Record<string, never>>;
  readonly #satisfy: IdListQuery<Record<string, never>>;
  readonly #cancel: IdListQuery<{ now: number }, { id: number }>;
  readonly #restore: IdListQuery<Record<string, never>, { id: number }>;
  readonly #parents: PreparedQuery<{ id: number }, ParentRow>;

  /**
   * @param db The instance the statements are compiled for.
   * @param locking Whether to lock children first (`"skip-locked"`:
   *   concurrent writers, PostgreSQL).
   */
  constructor(db: Kysely<SitqSchema>, locking: ClaimLocking) {
    const locks = locking === "skip-locked";
    // Literals, not parameters, for `satisfied` and the limit: SQLite plans
    // `limit ?` for any value, and the probe, run at every settle, cost
    // about 10 µs instead of 1 on bun:sqlite (more than the settle itself).
    this.#probe = new IdListQuery((ids) =>
      db.selectFrom("sitq_dependencies").select("parent_id")
        .where("parent_id", "in", ids).where("satisfied", "=", sql.lit(0))
        .limit(sql.lit(1))
    );
    // The children with an edge from these parents not yet satisfied.
    const waitingChildren = (ids: readonly number[]) =>
      db.selectFrom("sitq_dependencies").select("child_id")
        .where("parent_id", "in", ids).where("satisfied", "=", 0);
    this.#lock = new IdListQuery((ids) => {
      const select = db.selectFrom("sitq_tasks").select("id")
        .where("id", "in", waitingChildren(ids)).orderBy("id");
      return locks ? select.forUpdate() : select;
    });
    // Subqueries are built, not written out, so that PostgreSQL's schema
    // qualifies every table in them (see postgres_dialect.ts). Per-child
    // figures come from one grouped subquery joined in (`update ... from`),
    // never from a subquery per child row: PostgreSQL may read that one
    // through the parent index, every parent's edges for every child, which
    // made a fan-out of 10,000 quadratic.
    /** Per child of these parents: its edges they satisfy now. */
    const satisfiedEdges = (ids: readonly number[]) =>
      db.selectFrom("sitq_dependencies as d")
        .innerJoin("sitq_tasks as p", "p.id", "d.parent_id")
        .select((eb) => [
          "d.child_id",
          eb.fn.countAll<number>().as("edges"),
        ])
        .where("d.parent_id", "in", ids).where("d.satisfied", "=", 0)
        .where(satisfies)
        .groupBy("d.child_id");
    this.#decrement = new IdListQuery((ids) =>
      db.updateTable("sitq_tasks")
        .from(satisfiedEdges(ids).as("e"))
        .set((eb) => ({
          pending_parents: eb(
            eb.ref("sitq_tasks.pending_parents"),
            "-",
            eb.ref("e.edges"),
          ),
        }))
        .whereRef("sitq_tasks.id", "=", "e.child_id")
    );
    this.#release = new IdListQuery((ids) =>
      db.updateTable("sitq_tasks").set({ status: QUEUED })
        .where("status", "=", WAITING).where("pending_parents", "<=", 0)
        .where("id", "in", waitingChildren(ids))
    );
    this.#satisfy = new IdListQuery((ids) =>
      db.updateTable("sitq_dependencies as d").set({ satisfied: 1 })
        .where("d.parent_id", "in", ids).where("d.satisfied", "=", 0)
        .where((eb) =>
          eb.exists(
            eb.selectFrom("sitq_tasks as p").select(sql.lit(1).as("one"))
              .whereRef("p.id", "=", "d.parent_id").where(satisfies),
          )
        )
    );
    // Per child of these parents: the first (lowest id) that cancels it,
    // which names the reason.
    const firstBad = (ids: readonly number[]) =>
      db.selectFrom("sitq_dependencies as d")
        .innerJoin("sitq_tasks as p", "p.id", "d.parent_id")
        .select((eb) => ["d.child_id", eb.fn.min("d.parent_id").as("parent")])
        .where("d.parent_id", "in", ids).where("d.satisfied", "=", 0)
        .where(cancels)
        .groupBy("d.child_id");
    const reason = sql<string>`'{"name":"DependencyError","code":"PARENT_'
      || upper(bad.status)
      || '","message":"Cancelled as task ' || bad.id
      || ', which it depends on, '
      || (case when bad.status = ${FAILED} then 'failed'
          else 'was cancelled' end)
      || '; requeue task ' || bad.id || ' to bring it back"}'`;
    this.#cancel = new IdListQuery((ids, param) =>
      db.updateTable("sitq_tasks")
        .from(firstBad(ids).as("b"))
        .innerJoin("sitq_tasks as bad", "bad.id", "b.parent")
        .set({
          status: CANCELLED,
          finished_at: param("now"),
          cancelled_by: sql<number>`b.parent`,
          error: reason,
        })
        .whereRef("sitq_tasks.id", "=", "b.child_id")
        .where("sitq_tasks.status", "=", WAITING)
        .returning("sitq_tasks.id")
    );
    this.#restore = new IdListQuery((ids) =>
      db.updateTable("sitq_tasks").set({
        status: sql<TaskStatus>`case when pending_parents <= 0
          then ${QUEUED} else ${WAITING} end`,
        cancelled_by: null,
        error: null,
        finished_at: null,
      }).where("status", "=", CANCELLED)
        .where("cancelled_by", "is not", null)
        .where("id", "in", (eb) =>
          eb.selectFrom("sitq_dependencies").select("child_id")
            .where("parent_id", "in", ids).where("run_anyway", "=", 0))
        .where((eb) =>
          eb.not(eb.exists(
            eb.selectFrom("sitq_dependencies as d")
              .innerJoin("sitq_tasks as p", "p.id", "d.parent_id")
              .select(sql.lit(1).as("one"))
              .whereRef("d.child_id", "=", sql.ref("sitq_tasks.id"))
              .where("d.satisfied", "=", 0).where(cancels),
          ))
        )
        .returning("id")
    );
    this.#parents = new PreparedQuery<{ id: number }, ParentRow>((param) =>
      db.selectFrom("sitq_dependencies as d")
        .innerJoin("sitq_tasks as p", "p.id", "d.parent_id")
        .select([
          "p.id",
          "p.name",
          "p.status",
          "p.result",
          "p.error",
          "p.attempts",
          sql<boolean>`d.run_anyway = 1`.as("run_anyway"),
        ])
        .where("d.child_id", "=", param("id"))
        .orderBy("d.position")
    );
  }

  /**
   * Handles the dependents of `parents` (tasks that may have ended), down
   * the graph; see the module doc.
   *
   * @param parents Ids of tasks that may have ended.
   * @param now Epoch ms, the cancelled tasks' finish time.
   * @param probe Whether to look for unsatisfied edges first (cheap when,
   *   as for most settlements, there are none).
   */
  *afterEnded(
    parents: readonly number[],
    now: number,
    probe = true,
  ): WriteProgram<DependentsOutcome> {
    const outcome: DependentsOutcome = { released: 0, cancelled: [] };
    if (parents.length === 0) return outcome;
    if (probe) {
      let any = false;
      for (const query of this.#probe.slices(parents, {})) {
        if ((yield* statement(query)).rows.length > 0) any = true;
      }
      if (!any) return outcome;
    }
    let round: readonly number[] = parents;
    while (round.length > 0) {
      const next: number[] = [];
      const none = {};
      for (const query of this.#lock.slices(round, none)) {
        yield* statement(query);
      }
      for (const query of this.#decrement.slices(round, none)) {
        yield* statement(query);
      }
      for (const query of this.#release.slices(round, none)) {
        const result = yield* statement(query);
        outcome.released += Number(result.numAffectedRows ?? 0);
      }
      for (const query of this.#cancel.slices(round, { now })) {
        for (const row of (yield* statement(query)).rows) {
          next.push(Number(row.id));
        }
      }
      for (const query of this.#satisfy.slices(round, none)) {
        yield* statement(query);
      }
      for (const id of next) outcome.cancelled.push(id);
      round = next;
    }
    return outcome;
  }

  /**
   * Brings back the tasks that `parent`'s failure or cancellation
   * cancelled, now that it is requeued; see the module doc.
   *
   * @returns How many tasks came back.
   */
  *restore(parent: number): WriteProgram<number> {
    let restored = 0;
    let round: readonly number[] = [parent];
    while (round.length > 0) {
      const next: number[] = [];
      for (const query of this.#restore.slices(round, {})) {
        for (const row of (yield* statement(query)).rows) {
          next.push(Number(row.id));
        }
      }
      restored += next.length;
      round = next;
    }
    return restored;
  }

  /** The parents of task `id`, in the order they were given. */
  *parents(id: number): WriteProgram<ParentRow[]> {
    const { rows } = yield* statement(this.#parents.with({ id }));
    return rows.map((row) => ({
      ...row,
      id: Number(row.id),
      attempts: Number(row.attempts),
      run_anyway: Boolean(row.run_anyway),
    }));
  }
}
