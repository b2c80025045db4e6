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
 * Queues (schema v8): with `queues`, only tasks of those queues, written
 * out as a literal list like the names. The plain claim never takes a task
 * of a queue that has a paused or limited settings row: an uncorrelated
 * subquery of the tiny `sitq_queues` table, read once per statement in the
 * claim's own snapshot, so a pause holds from its commit on and a limit is
 * never passed by a claim that does not count it. Limited queues are
 * claimed one queue at a time by `queue_claims.ts`, which counts first and
 * calls {@linkcode ClaimTasks.runInQueue} with what is left.
 *
 * Next run time ({@linkcode ClaimTasks.nextRunAt}): when a claim comes up
 * short, the earliest run time after `now` among queued tasks with a name in
 * `names`, so the worker can wake when the next delayed task comes due
 * instead of at its next poll. Asked only after a short claim, never per
 * task: a busy worker whose claims fill its slots never runs it. How it
 * reads depends on the dialect's {@linkcode NextRunLookup}:
 * - `"claim-index"` (SQLite): the claim index, per distinct priority. A
 *   recursive query steps from the highest priority of a queued task to the
 *   next lower one (one index seek each), and for each reads that
 *   priority's queued rows in run-time order after `now`, stopping at the
 *   first with a name in `names`; the earliest of those is the answer. The
 *   cost grows with the number of distinct priorities in use, not with the
 *   queue's depth.
 * - `"run-time-index"` (PostgreSQL): queued rows in run-time order through
 *   the partial index `sitq_tasks_next_run` (migration v3), stopping at the
 *   first with a name in `names`. Its `run_at >= 0` term states that
 *   index's condition, which the claim never does (see migrations.ts).
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
import type { ClaimLocking, NextRunLookup } from "../dialect.ts";
import { PreparedQuery } from "../prepared_query.ts";
import { QUEUED, type SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";

interface ClaimParams extends Record<string, unknown> {
  workerId: string;
  leaseExpiresAt: number;
  now: number;
  /** The one queue claimed from (a limited queue's claim only). */
  queue?: string;
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
  "queue",
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
  queue: string;
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
  readonly #nextRun: NextRunLookup;
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
   * @param nextRun How {@linkcode ClaimTasks.nextRunAt} finds the next run
   * (default `"claim-index"`, as the dialect's default).
   */
  constructor(
    db: Kysely<SitqSchema>,
    locking: ClaimLocking,
    nextRun: NextRunLookup = "claim-index",
  ) {
    this.#db = db;
    this.#locking = locking;
    this.#nextRun = nextRun;
  }

  // The last name list seen (a copy) and its key: a worker claims with the
  // same names every time, and comparing them costs less than making the
  // key again.
  #lastNames: readonly string[] = [];
  #lastKey = "[]";

  #lastQueues: readonly string[] | undefined = undefined;
  #lastQueuesKey = "*";

  /** The cache key of a name list and a queue list (undefined: all). */
  #keyOf(names: readonly string[], queues?: readonly string[]): string {
    const last = this.#lastNames;
    let same = names.length === last.length;
    for (let index = 0; same && index < names.length; index++) {
      same = names[index] === last[index];
    }
    if (!same) {
      this.#lastKey = JSON.stringify(names);
      this.#lastNames = [...names];
    }
    const lastQueues = this.#lastQueues;
    let sameQueues = queues === lastQueues ||
      (queues !== undefined && lastQueues !== undefined &&
        queues.length === lastQueues.length);
    for (
      let index = 0;
      sameQueues && queues !== undefined && index < queues.length;
      index++
    ) {
      sameQueues = queues[index] === lastQueues![index];
    }
    if (!sameQueues) {
      this.#lastQueuesKey = queues === undefined ? "*" : JSON.stringify(queues);
      this.#lastQueues = queues === undefined ? undefined : [...queues];
    }
    return this.#lastQueuesKey === "*"
      ? this.#lastKey
      : `${this.#lastKey}|${this.#lastQueuesKey}`;
  }

  /**
   * The earliest run time after `claim.now` among queued tasks named in
   * `claim.names`, or undefined when there is none; read in the program's
   * transaction.
   */
  *nextRunAt(claim: ClaimRequest): WriteProgram<number | undefined> {
    const key = this.#keyOf(claim.names, claim.queues);
    let query = this.#nextByNames.get(key);
    if (query === undefined) {
      query = this.#compileNext(claim.names, claim.queues);
      this.#nextByNames.set(key, query);
    }
    const { rows } = yield* statement(query.with({ now: claim.now }));
    const next = rows[0]?.next;
    return next === null || next === undefined ? undefined : Number(next);
  }

  #compileNext(
    names: readonly string[],
    queues: readonly string[] | undefined,
  ): PreparedQuery<{ now: number }, { next: number | null }> {
    if (this.#nextRun === "claim-index") {
      return this.#compileNextPerPriority(names, queues);
    }
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
        .$if(queues !== undefined, (qb) => qb.where("queue", "in", queues!))
        .where("run_at", ">=", sql.lit(0))
        .orderBy("run_at")
        .limit(sql.lit(1))
    );
  }

  #compileNextPerPriority(
    names: readonly string[],
    queues: readonly string[] | undefined,
  ): PreparedQuery<{ now: number }, { next: number | null }> {
    const db = this.#db;
    const queued = sql`${sql.ref("status")} = ${QUEUED}`;
    const queueTerm = queues === undefined
      ? sql``
      : sql`and ${sql.ref("queue")} in (${sql.join(queues)})`;
    // Each step is one seek in the claim index, whose first column is the
    // priority of queued tasks: max() below a bound, then the first run
    // time after `now` within one priority.
    return new PreparedQuery<{ now: number }, { next: number | null }>((
      param,
    ) => {
      const query = sql<{ next: number | null }>`with recursive
  prio(p) as (
    select max(priority) from sitq_tasks where ${queued}
    union all
    select (select max(priority) from sitq_tasks
      where ${queued} and priority < prio.p)
    from prio where prio.p is not null
  )
select min((
  select run_at from sitq_tasks
  where ${queued} and priority = prio.p and run_at > ${param("now")}
    and name in (${sql.join(names)}) ${queueTerm}
  order by run_at limit 1
)) as next
from prio where prio.p is not null`;
      return { compile: () => query.compile(db) };
    });
  }

  /**
   * Claims tasks of queues without a pause or limit; returns them in queue
   * order.
   */
  *run(claim: ClaimRequest): WriteProgram<ClaimedTask[]> {
    return yield* this.#claim(claim, claim.limit, undefined);
  }

  /**
   * Claims up to `limit` tasks of the one queue `queue`, pause and limits
   * not looked at: the caller (`queue_claims.ts`) counted them.
   */
  *runInQueue(
    claim: ClaimRequest,
    queue: string,
    limit: number,
  ): WriteProgram<ClaimedTask[]> {
    return yield* this.#claim(claim, limit, queue);
  }

  *#claim(
    claim: ClaimRequest,
    limit: number,
    queue: string | undefined,
  ): WriteProgram<ClaimedTask[]> {
    const params: ClaimParams = {
      workerId: claim.workerId,
      leaseExpiresAt: claim.now + claim.leaseDuration,
      now: claim.now,
    };
    if (queue !== undefined) params.queue = queue;
    const { rows } = yield* statement(
      this.#prepared(claim.names, claim.queues, limit, queue !== undefined)
        .with(params),
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
      queue: row.queue,
    }));
  }

  #prepared(
    names: readonly string[],
    queues: readonly string[] | undefined,
    limit: number,
    oneQueue: boolean,
  ): PreparedQuery<ClaimParams, ClaimedRow> {
    const key = `${oneQueue ? "1" : "*"}${this.#keyOf(names, queues)}`;
    let byLimit = this.#byNames.get(key);
    if (byLimit === undefined) {
      byLimit = new Map();
      this.#byNames.set(key, byLimit);
    }
    let query = byLimit.get(limit);
    if (query === undefined) {
      query = this.#compile(names, queues, limit, oneQueue);
      byLimit.set(limit, query);
    }
    return query;
  }

  #compile(
    names: readonly string[],
    queues: readonly string[] | undefined,
    limit: number,
    oneQueue: boolean,
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
          .$if(
            queues !== undefined,
            (qb) => qb.where("queue", "in", queues!),
          )
          // `in (?)`, not `= ?`: SQLite ran the claim three times slower
          // with `queue = ?` (180 µs against 60-80 per claim of 8, measured
          // on bun:sqlite), for the same plan.
          .$if(oneQueue, (qb) => qb.where("queue", "in", [param("queue")!]))
          .$if(
            !oneQueue,
            (qb) => qb.where("queue", "not in", heldBack(db)),
          )
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

/**
 * The queues the plain claim leaves alone: paused, or with a limit that
 * `queue_claims.ts` must count first. Its conditions are those of
 * {@linkcode QUEUE_HELD_BACK_SQL}.
 */
function heldBack(db: QueryCreator<SitqSchema>) {
  return db.selectFrom("sitq_queues").select("name").where((eb) =>
    eb.or([
      eb("paused", "<>", 0),
      eb("concurrency", "is not", null),
      eb("rate_limit", "is not", null),
    ])
  );
}

/**
 * The same set as {@linkcode heldBack}, as SQL over a schema-qualified
 * `sitq_queues` (`q`): for the PostgreSQL one-trip claim, written as text.
 */
export function queueHeldBackSql(queuesTable: string): string {
  return `select name from ${queuesTable}
    where paused <> 0 or concurrency is not null or rate_limit is not null`;
}
