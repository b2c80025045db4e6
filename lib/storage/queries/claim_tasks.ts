/**
 * Claim: the next due tasks a worker has handlers for, each moved to
 * `running` under a new lease, its attempt count raised by one. The new
 * count is the attempt's number, and with the worker id it is the fencing
 * token every later write about the attempt carries (see `ownership.ts`).
 *
 * Parameters ({@linkcode ClaimRequest}): `workerId`, the task `names`, at
 * most `limit` tasks, due by `now`, leased for `leaseDuration` ms.
 * Guard: only `queued` tasks with a run time at or before `now` and a name
 * in `names`, in queue order (priority descending, then run time, then id:
 * enqueue order). The outer `WHERE` checks `status = 'queued'` again: where
 * claims run concurrently (PostgreSQL under READ COMMITTED), a row another
 * claimer took after the inner select read it must not be taken twice.
 * Locking, from the dialect's {@linkcode ClaimLocking}: a
 * `"serialized-writer"` database runs the plain statement; `"skip-locked"`
 * adds `FOR UPDATE SKIP LOCKED` to the inner select, so a claimer passes
 * over rows another one holds instead of queueing behind it.
 *
 * Next run time ({@linkcode ClaimTasks.nextRunAt}): when a claim comes up
 * short, the earliest run time after `now` among queued tasks with a name in
 * `names`, so the worker can wake when the next delayed task comes due
 * instead of at its next poll. Asked only after a short claim, never per
 * task: a busy worker whose claims fill its slots never runs it. It reads
 * queued rows in run-time order through the partial index
 * `sitq_tasks_next_run` (migration v3) and stops at the first one with a
 * name in `names`. Its `run_at >= 0` term states that index's condition,
 * which the claim never does (see migrations.ts).
 *
 * @module
 */
import {
  type ExpressionBuilder,
  type Kysely,
  type QueryCreator,
  sql,
} from "kysely";
import type { ClaimedTask, ClaimRequest } from "../backend.ts";
import type { ClaimLocking } from "../dialect.ts";
import { PreparedQuery } from "../prepared_query.ts";
import { QUEUED, type SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";

interface ClaimParams extends Record<string, unknown> {
  workerId: string;
  leaseExpiresAt: number;
  now: number;
}

/** The columns a claim returns: a {@linkcode ClaimedRow}. */
const CLAIMED_COLUMNS = [
  "id",
  "name",
  "args",
  "attempts",
  "max_attempts",
  "timeout_ms",
  "priority",
  "run_at",
] as const;

interface ClaimedRow {
  id: number;
  name: string;
  args: string;
  attempts: number;
  max_attempts: number;
  timeout_ms: number | null;
  priority: number;
  run_at: number;
}

/**
 * The claim, compiled once per task-name set and batch size for one Kysely
 * instance. The length of an `in` list is part of the SQL, and so is the
 * `LIMIT`: SQLite runs the claim about three times slower with `LIMIT ?`
 * than with the same number written out (measured on bun:sqlite and
 * node:sqlite: 24-60 µs against 7-9 µs per claim of one task, the largest
 * single cost of a claim). Batch sizes run from 1 to the worker's
 * concurrency, so a worker compiles a handful of statements.
 */
export class ClaimTasks {
  readonly #db: Kysely<SitqSchema>;
  readonly #locking: ClaimLocking;
  readonly #byNames = new Map<
    string,
    Map<number, PreparedQuery<ClaimParams, ClaimedRow>>
  >();
  readonly #nextByNames = new Map<
    string,
    PreparedQuery<{ now: number }, { next: number | null }>
  >();

  /**
   * @param db The instance the statements are compiled for.
   * @param locking How the database keeps concurrent claims apart.
   */
  constructor(db: Kysely<SitqSchema>, locking: ClaimLocking) {
    this.#db = db;
    this.#locking = locking;
  }

  // The last name list seen (a copy) and its key: a worker claims with the
  // same names every time, and comparing them costs less than making the
  // key again.
  #lastNames: readonly string[] = [];
  #lastKey = "[]";

  /** The cache key of a name list. */
  #keyOf(names: readonly string[]): string {
    const last = this.#lastNames;
    let same = names.length === last.length;
    for (let index = 0; same && index < names.length; index++) {
      same = names[index] === last[index];
    }
    if (!same) {
      this.#lastKey = JSON.stringify(names);
      this.#lastNames = [...names];
    }
    return this.#lastKey;
  }

  /**
   * The earliest run time after `claim.now` among queued tasks named in
   * `claim.names`, or undefined when there is none; read in the program's
   * transaction.
   */
  *nextRunAt(claim: ClaimRequest): WriteProgram<number | undefined> {
    const key = this.#keyOf(claim.names);
    let query = this.#nextByNames.get(key);
    if (query === undefined) {
      query = this.#compileNext(claim.names);
      this.#nextByNames.set(key, query);
    }
    const { rows } = yield* statement(query.with({ now: claim.now }));
    const next = rows[0]?.next;
    return next === null || next === undefined ? undefined : Number(next);
  }

  #compileNext(
    names: readonly string[],
  ): PreparedQuery<{ now: number }, { next: number | null }> {
    // ORDER BY … LIMIT 1 rather than min(): SQLite walks the run_at index in
    // order and stops at the first match, where min() with the name filter
    // reads every queued row after `now`.
    return new PreparedQuery<{ now: number }, { next: number | null }>((
      param,
    ) =>
      this.#db.selectFrom("sitq_tasks")
        .select("run_at as next")
        .where("status", "=", QUEUED)
        .where("run_at", ">", param("now"))
        .where("name", "in", names)
        .where("run_at", ">=", sql.lit(0))
        .orderBy("run_at")
        .limit(1)
    );
  }

  /** Claims tasks; returns them in queue order. */
  *run(claim: ClaimRequest): WriteProgram<ClaimedTask[]> {
    const { rows } = yield* statement(
      this.#prepared(claim.names, claim.limit).with({
        workerId: claim.workerId,
        leaseExpiresAt: claim.now + claim.leaseDuration,
        now: claim.now,
      }),
    );
    // RETURNING order is unspecified; hand tasks out in queue order.
    rows.sort((a, b) =>
      b.priority - a.priority || a.run_at - b.run_at || a.id - b.id
    );
    return rows.map((row) => ({
      id: Number(row.id),
      name: row.name,
      args: row.args,
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      timeout: row.timeout_ms,
      priority: row.priority,
      runAt: row.run_at,
    }));
  }

  #prepared(
    names: readonly string[],
    limit: number,
  ): PreparedQuery<ClaimParams, ClaimedRow> {
    const key = this.#keyOf(names);
    let byLimit = this.#byNames.get(key);
    if (byLimit === undefined) {
      byLimit = new Map();
      this.#byNames.set(key, byLimit);
    }
    let query = byLimit.get(limit);
    if (query === undefined) {
      query = this.#compile(names, limit);
      byLimit.set(limit, query);
    }
    return query;
  }

  #compile(
    names: readonly string[],
    limit: number,
  ): PreparedQuery<ClaimParams, ClaimedRow> {
    // A literal, never user text: the claim loop's batch size. Checked
    // anyway, as it is spliced into the SQL.
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot claim ${limit} tasks: not a positive integer`,
      );
    }
    return new PreparedQuery<ClaimParams, ClaimedRow>((param) => {
      const claimable = (db: QueryCreator<SitqSchema>) =>
        db.selectFrom("sitq_tasks").select("id")
          .where("status", "=", QUEUED)
          .where("run_at", "<=", param("now"))
          .where("name", "in", names)
          .orderBy("priority", "desc").orderBy("run_at").orderBy("id")
          .limit(sql.lit(limit));
      const set = (eb: ExpressionBuilder<SitqSchema, "sitq_tasks">) => ({
        status: "running" as const,
        attempts: eb("attempts", "+", 1),
        worker_id: param("workerId"),
        lease_expires_at: param("leaseExpiresAt"),
        started_at: param("now"),
        progress: null,
      });
      if (this.#locking === "serialized-writer") {
        // One task: `id = (select ...)`, which SQLite reads as one value;
        // `id in (select ...)` first fills a temporary table with the ids,
        // which took about a third of a one-task claim (measured on
        // bun:sqlite: 6 µs against 9-10).
        return this.#db.updateTable("sitq_tasks").set(set)
          .where("id", limit === 1 ? "=" : "in", claimable(this.#db))
          .where("status", "=", QUEUED)
          .returning(CLAIMED_COLUMNS);
      }
      // Skip-locked: the locking select is a MATERIALIZED CTE, so it runs
      // exactly once. As an `IN (subquery)` PostgreSQL may plan it as the
      // inner side of a nested-loop semi-join and run it again for each
      // outer row; a rerun can skip rows another claimer locked meanwhile
      // and return others, so more than `limit` rows could be claimed.
      return this.#db
        .with(
          (cte) => cte("sitq_claimable").materialized(),
          (db) => claimable(db).forUpdate().skipLocked(),
        )
        .updateTable("sitq_tasks").set(set)
        .where("id", "in", (eb) => eb.selectFrom("sitq_claimable").select("id"))
        .where("status", "=", QUEUED)
        .returning(CLAIMED_COLUMNS);
    });
  }
}
