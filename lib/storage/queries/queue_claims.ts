/**
 * Claims from limited queues: those whose `sitq_queues` row sets a global
 * `concurrency` or a rate limit (schema v8). The plain claim
 * (`claim_tasks.ts`) leaves them alone; this runs first, in the same
 * transaction, and for each such queue the worker may claim from:
 *
 * 1. PostgreSQL (`"skip-locked"`): locks the queue's settings row
 *    (`FOR UPDATE`) and reads it again, so claims of one limited queue run
 *    one at a time across every process (READ COMMITTED: the counts below
 *    see every claim committed before the lock was granted). Claims of
 *    other queues never wait for it. SQLite's single writer already runs
 *    every claim alone.
 * 2. Counts its running tasks (`concurrency`) and its starts after
 *    `now - intervalMs` in `sitq_queue_starts` (an exact sliding window,
 *    older starts deleted; counted from the running totals of the newest
 *    row and of the window's first, two index probes however high the
 *    rate, see `queues_schema.ts`), and claims at most what both leave
 *    (`ClaimTasks.runInQueue`), recording its starts in one row at `now`,
 *    or at the newest row's time if later (a claim whose clock read came
 *    before another's commit), which can only count a start for longer,
 *    never shorter.
 *
 * A queue whose window is full gives a wake-up time: when its oldest start
 * leaves the window. A full concurrency wakes workers when a task of it
 * settles (the change feed). Limits hold for claims; tasks already running
 * when a limit is set keep running.
 *
 * {@linkcode LimitedQueuesHint} keeps the plain, unlimited case free of
 * all this: while no queue is limited, a claim reads nothing more.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type { ClaimedTask, ClaimRequest } from "../backend.ts";
import type { ClaimLocking } from "../dialect.ts";
import { PreparedQuery } from "../prepared_query.ts";
import { RUNNING, type SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";
import type { ClaimTasks } from "./claim_tasks.ts";

/** A limited queue's settings as the claim reads them. */
interface LimitRow {
  name: string;
  paused: number;
  concurrency: number | null;
  rate_limit: number | null;
  rate_interval_ms: number | null;
}

/** A claim's recorded starts: time, running total after it, how many. */
interface StartRow {
  started_at: number;
  seq: number;
  starts: number;
}

/** What {@linkcode QueueClaims.run} returns. */
export interface LimitedClaim {
  /** The tasks claimed, queue by queue. */
  claimed: ClaimedTask[];
  /** When a full rate window frees a start (epoch ms), if one is full. */
  wakeAt?: number;
  /** Whether any queue was limited (false: the hint may skip this). */
  limited: boolean;
}

/**
 * How long (ms of this process's monotonic clock) a "no queue is limited"
 * answer is trusted before a claim reads `sitq_queues` again. Staleness
 * never lets a limit be passed: the plain claim skips limited queues in its
 * own snapshot; it only delays claims from a queue limited meanwhile by
 * another process (this process's own changes reset it at once).
 */
export const LIMITS_RECHECK_MS = 1000;

/**
 * Whether claims must run the limited step: this process's belief that
 * some queue is limited, from the last claim that looked.
 */
export class LimitedQueuesHint {
  #limited: boolean | undefined = undefined;
  #checkedAt = 0;

  /** Whether the next claim must look at limited queues. */
  mustCheck(): boolean {
    return this.#limited !== false ||
      performance.now() - this.#checkedAt >= LIMITS_RECHECK_MS;
  }

  /** Whether the last look found a limited queue. */
  get limited(): boolean {
    return this.#limited === true;
  }

  /** Records what a claim found. */
  set(limited: boolean): void {
    this.#limited = limited;
    this.#checkedAt = performance.now();
  }

  /** Forgets: settings changed in this process. */
  reset(): void {
    this.#limited = undefined;
  }
}

/** The limited step's statements, compiled once for one Kysely instance. */
export class QueueClaims {
  readonly #locking: ClaimLocking;
  readonly #claims: ClaimTasks;
  readonly #limits: PreparedQuery<Record<string, never>, LimitRow>;
  readonly #lock: PreparedQuery<{ queue: string }, LimitRow>;
  readonly #running: PreparedQuery<{ queue: string }, { n: number }>;
  readonly #expire: PreparedQuery<{ queue: string; since: number }>;
  readonly #newest: PreparedQuery<{ queue: string }, StartRow>;
  readonly #first: PreparedQuery<{ queue: string; since: number }, StartRow>;
  readonly #record: PreparedQuery<
    { queue: string; started_at: number; seq: number; starts: number }
  >;

  /**
   * @param db The instance the statements are compiled for.
   * @param locking How the database keeps concurrent claims apart.
   * @param claims The claim statements (their `runInQueue`).
   */
  constructor(
    db: Kysely<SitqSchema>,
    locking: ClaimLocking,
    claims: ClaimTasks,
  ) {
    this.#locking = locking;
    this.#claims = claims;
    const columns = [
      "name",
      "paused",
      "concurrency",
      "rate_limit",
      "rate_interval_ms",
    ] as const;
    // A literal 0 and no ORDER BY (the few rows are sorted here): with
    // `paused = ?` and the sort, SQLite took 16 µs for this read of a
    // one-row table, against 2 µs (bun:sqlite).
    this.#limits = new PreparedQuery(() =>
      db.selectFrom("sitq_queues").select(columns)
        .where("paused", "=", sql.lit(0))
        .where((eb) =>
          eb.or([
            eb("concurrency", "is not", null),
            eb("rate_limit", "is not", null),
          ])
        )
    );
    this.#lock = new PreparedQuery<{ queue: string }, LimitRow>((param) =>
      db.selectFrom("sitq_queues").select(columns)
        .where("name", "=", param("queue")).forUpdate()
    );
    // `queue in (?)` rather than `queue = ?` in the statements below:
    // bun:sqlite ran these probes about ten times slower with `= ?` (23 µs
    // against 2 for the window's first start), for the same plan.
    this.#running = new PreparedQuery<{ queue: string }, { n: number }>((
      param,
    ) =>
      db.selectFrom("sitq_tasks")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("status", "=", RUNNING)
        .where("queue", "in", [param("queue")])
    );
    this.#expire = new PreparedQuery<{ queue: string; since: number }>((
      param,
    ) =>
      db.deleteFrom("sitq_queue_starts")
        .where("queue", "in", [param("queue")])
        .where("started_at", "<=", param("since"))
    );
    this.#newest = new PreparedQuery<{ queue: string }, StartRow>((param) =>
      db.selectFrom("sitq_queue_starts").select(["started_at", "seq", "starts"])
        .where("queue", "in", [param("queue")])
        .orderBy("started_at", "desc").orderBy("seq", "desc").limit(sql.lit(1))
    );
    this.#first = new PreparedQuery<
      { queue: string; since: number },
      StartRow
    >((param) =>
      db.selectFrom("sitq_queue_starts").select(["started_at", "seq", "starts"])
        .where("queue", "in", [param("queue")])
        .where("started_at", ">", param("since"))
        .orderBy("started_at").orderBy("seq").limit(sql.lit(1))
    );
    this.#record = new PreparedQuery<
      { queue: string; started_at: number; seq: number; starts: number }
    >((param) =>
      db.insertInto("sitq_queue_starts").values({
        queue: param("queue"),
        started_at: param("started_at"),
        seq: param("seq"),
        starts: param("starts"),
      })
    );
  }

  /**
   * Claims up to `limit` tasks from the limited queues `claim` may take,
   * each within its limits; see the module doc.
   */
  *run(claim: ClaimRequest, limit: number): WriteProgram<LimitedClaim> {
    const { rows } = yield* statement(this.#limits.with({}));
    if (rows.length > 1) {
      rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    const claimed: ClaimedTask[] = [];
    let wakeAt: number | undefined;
    for (const listed of rows) {
      if (claimed.length >= limit) break;
      if (claim.queues !== undefined && !claim.queues.includes(listed.name)) {
        continue;
      }
      let settings: LimitRow | undefined = listed;
      if (this.#locking === "skip-locked") {
        // Changed or removed since the list was read: the locked read is
        // the one that counts.
        const locked = yield* statement(
          this.#lock.with({ queue: listed.name }),
        );
        settings = locked.rows[0];
        if (settings === undefined || Number(settings.paused) !== 0) continue;
      }
      let allowance = limit - claimed.length;
      if (settings.concurrency !== null) {
        const running = yield* statement(
          this.#running.with({ queue: settings.name }),
        );
        allowance = Math.min(
          allowance,
          Number(settings.concurrency) - Number(running.rows[0]?.n ?? 0),
        );
      }
      const rate = settings.rate_limit === null
        ? undefined
        : Number(settings.rate_limit);
      const interval = Number(settings.rate_interval_ms ?? 0);
      const since = claim.now - interval;
      // The numbers and time the next starts take.
      let seq = 0;
      let startedAt = claim.now;
      if (rate !== undefined && allowance > 0) {
        const queue = settings.name;
        yield* statement(this.#expire.with({ queue, since }));
        const newest = (yield* statement(this.#newest.with({ queue })))
          .rows[0];
        let started = 0;
        if (newest !== undefined) {
          seq = Number(newest.seq);
          startedAt = Math.max(startedAt, Number(newest.started_at));
          const first = (yield* statement(this.#first.with({ queue, since })))
            .rows[0];
          if (first !== undefined) {
            started = seq - (Number(first.seq) - Number(first.starts));
            if (started >= rate) {
              // The oldest start in the window leaves it then.
              const frees = Number(first.started_at) + interval + 1;
              wakeAt = wakeAt === undefined ? frees : Math.min(wakeAt, frees);
            }
          }
        }
        allowance = Math.min(allowance, rate - started);
      }
      if (allowance <= 0) continue;
      const taken = yield* this.#claims.runInQueue(
        claim,
        settings.name,
        allowance,
      );
      if (taken.length === 0) continue;
      if (rate !== undefined) {
        yield* statement(
          this.#record.with({
            queue: settings.name,
            started_at: startedAt,
            seq: seq + taken.length,
            starts: taken.length,
          }),
        );
      }
      for (const task of taken) claimed.push(task);
    }
    return wakeAt === undefined
      ? { claimed, limited: rows.length > 0 }
      : { claimed, wakeAt, limited: rows.length > 0 };
  }
}
