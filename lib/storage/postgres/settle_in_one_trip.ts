/**
 * A worker's settle-and-claim on PostgreSQL in one round trip: up to three
 * statements sent as one pipeline (`pipeline.ts`), which the server runs
 * as one implicit transaction and commits at its Sync, with no BEGIN or
 * COMMIT round trips. The generic form (`queries/settle_and_claim.ts` in a
 * transaction) costs six to eight round trips per step; this costs one,
 * and the server parses and plans each statement once per connection.
 *
 * 1. **Settle** (when there are settlements): data-modifying CTEs. `settled`
 *    updates, from an `unnest` of the batch, each task the worker still
 *    owns (the fence of `queries/ownership.ts`: running, its worker, its
 *    attempt), one `UPDATE` for the whole batch; `history` inserts an
 *    attempt row for each one settled; the notification goes out in the
 *    same statement (`pg_notify`, delivered at the commit).
 * 2. **Claim** (when asked): `claimable` picks due queued tasks with
 *    `FOR UPDATE SKIP LOCKED` (MATERIALIZED, so it runs once: see
 *    `queries/claim_tasks.ts`), `claimed` leases them, and after a short
 *    claim the next run time is read (a `CASE` guards it). Its own
 *    statement, so its own snapshot: a retry due now that statement 1
 *    queued is claimable, as in the generic form (in one statement, every
 *    CTE would see the task still running). A claim alone relaxes its
 *    commit (`synchronous_commit` off for this transaction).
 * 3. **Probe** (when a settlement ends a task for good): tasks waiting for
 *    a task that ended are released or cancelled by
 *    `queries/release_dependents.ts` in the transaction that ended it, in
 *    statements that depend on each other's results, which a pipeline
 *    cannot run. The probe looks, in a snapshot taken after statement 1
 *    holds the settled rows' locks (a graph insert that locked a parent
 *    first has committed its edges by then; one that comes later waits for
 *    this commit and sees the parent ended, as in the generic form), for
 *    an unsatisfied edge from a task that ended, and fails the pipeline
 *    when it finds one: nothing is written, and the caller runs the
 *    generic form, which releases them.
 *
 * @module
 */
import type {
  ClaimedTask,
  ClaimRequest,
  SettleAndClaimResult,
  Settlement,
} from "../backend.ts";
import { queueHeldBackSql } from "../queries/claim_tasks.ts";
import { historyRow, settleParams } from "../queries/settle_attempts.ts";
import type { PipelineStatement } from "./pipeline.ts";

/** The text the probe puts in its error, to tell it from a real failure. */
const DEPENDENTS_MARK = "sitq: dependents wait on task ";

/**
 * Settings for the rest of the transaction, run before the claim is
 * planned (a named statement is planned at its Bind, which the server
 * reads after the statements before it have run): sorts off, and the
 * commit relaxed when `$1` is `'off'`. Without statistics (a table filled
 * in bulk and not yet analyzed) the planner takes the claim for a few rows
 * and sorts every due task instead of reading the claim index in order:
 * 3-4 ms a claim over 10,000 queued tasks, against 0.05 with the index,
 * and a generic plan made then is kept until an analyze. The claim has no
 * other sort; both settings end with the transaction.
 */
const PRELUDE = `select set_config('enable_sort', 'off', true),
  case when $1::text is not null
    then set_config('synchronous_commit', $1, true) end`;

/** The SQLSTATE of the probe's error: `invalid_text_representation`. */
const PROBE_ERROR_CODE = "22P02";

/** Whether `error` is the probe saying a task that ended has dependents. */
export function isDependentsProbe(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === PROBE_ERROR_CODE && typeof message === "string" &&
    message.includes(DEPENDENTS_MARK);
}

/** How a step's write announces itself and commits. */
export interface OneTripWrite {
  /** The NOTIFY channel. */
  channel: string;
  /** The NOTIFY payload, sent when there are settlements. */
  payload: string;
  /** Whether the commit must be durable; false relaxes it for this one. */
  durable: boolean;
}

/** The statements, their texts built once per schema. */
export class SettleInOneTrip {
  readonly #settleText: string;
  readonly #settleName: string;
  readonly #probeText: string;
  readonly #probeName: string;
  readonly #preludeName = `sitq_claim_prelude_${fnv1a(PRELUDE)}`;
  readonly #tasks: string;
  readonly #queues: string;
  /** Claim statements by batch size: the LIMIT is written out. */
  readonly #claims = new Map<number, { name: string; text: string }>();

  /** @param schema The schema holding sitq's tables (checked ASCII). */
  constructor(schema: string) {
    const q = `"${schema.replace(/"/g, '""')}"`;
    const tasks = `${q}.sitq_tasks`;
    this.#tasks = tasks;
    this.#queues = `${q}.sitq_queues`;
    this.#settleText = `with s as (
  select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[],
    $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[],
    $10::bigint[], $11::text[], $12::bigint[]) with ordinality
  as s(id, worker_id, attempt, status, result, error, finished_at, run_at,
    attempt_delta, started_at, outcome, ended_at, n)
), settled as (
  update ${tasks} as t set status = s.status, result = s.result,
    error = case when s.outcome in ('failed', 'timed_out') then s.error
      else t.error end,
    finished_at = s.finished_at, run_at = coalesce(s.run_at, t.run_at),
    attempts = t.attempts - s.attempt_delta, lease_expires_at = null
  from s
  where t.id = s.id and t.status = 'running' and t.worker_id = s.worker_id
    and t.attempts = s.attempt
  returning s.n
), history as (
  insert into ${q}.sitq_attempts
    (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
  select s.id, s.attempt, s.worker_id, s.started_at, s.ended_at, s.outcome,
    s.error
  from s join settled on settled.n = s.n
  where s.outcome <> 'completed'
)
select json_build_array(
  (select coalesce(json_agg(n), '[]') from settled),
  pg_notify($13, $14)
)::text`;
    this.#probeText = `select ('${DEPENDENTS_MARK}' || parent_id)::bigint::text
from ${q}.sitq_dependencies
where parent_id = any($1::bigint[]) and satisfied = 0
limit 1`;
    const hash = fnv1a(this.#settleText + this.#probeText);
    this.#settleName = `sitq_settle_${hash}`;
    this.#probeName = `sitq_settle_probe_${hash}`;
  }

  /**
   * The claim of up to `limit` tasks, with the next run time after a short
   * one: `claimable` locks due queued tasks with `FOR UPDATE SKIP LOCKED`
   * (MATERIALIZED, so it runs once; see `queries/claim_tasks.ts`), `claimed`
   * leases them. The LIMIT is written out, as in `claim_tasks.ts`.
   */
  #claim(limit: number): { name: string; text: string } {
    let claim = this.#claims.get(limit);
    if (claim !== undefined) return claim;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot claim ${limit} tasks: not a positive integer`,
      );
    }
    const tasks = this.#tasks;
    // Queues (schema v8): only the worker's ($5, null: all), never a paused
    // or limited one (claimed in the generic transaction, which counts its
    // limits: queries/queue_claims.ts); the third element tells whether
    // some queue is limited, so the backend knows to take that path.
    const text = `with claimable as materialized (
  select id from ${tasks}
  where status = 'queued' and run_at <= $2 and name = any($1::text[])
    and ($5::text[] is null or queue = any($5::text[]))
    and queue not in (${queueHeldBackSql(this.#queues)})
  order by priority desc, run_at, id
  limit ${limit}
  for update skip locked
), claimed as (
  update ${tasks} set status = 'running', attempts = attempts + 1,
    worker_id = $3, lease_expires_at = $4, started_at = $2, progress = null
  where id in (select id from claimable) and status = 'queued'
  returning id, name, args, attempts, max_attempts, timeout_ms, priority,
    run_at, queue
)
select json_build_array(
  (select coalesce(json_agg(json_build_array(id, name, args, attempts,
    max_attempts, timeout_ms, priority, run_at, queue)), '[]') from claimed),
  case when (select count(*) from claimed) < ${limit} then
    (select run_at from ${tasks}
     where status = 'queued' and run_at > $2 and name = any($1::text[])
       and ($5::text[] is null or queue = any($5::text[]))
       and run_at >= 0
     order by run_at limit 1)
  end,
  exists (select 1 from ${this.#queues} where paused = 0
    and (concurrency is not null or rate_limit is not null))
)::text`;
    claim = { name: `sitq_claim_${limit}_${fnv1a(text)}`, text };
    this.#claims.set(limit, claim);
    return claim;
  }

  /**
   * The pipeline for one step: the settle statement (when there are
   * settlements), then the claim (when asked: in a snapshot of its own, so
   * a retry due now that the settle statement queued is claimable), then
   * the probe (when a settlement ends a task).
   */
  statements(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
    write: OneTripWrite,
  ): PipelineStatement[] {
    const statements: PipelineStatement[] = [];
    const ended: number[] = [];
    if (settlements.length > 0) {
      statements.push({
        name: this.#settleName,
        text: this.#settleText,
        values: [
          ...settleColumns(settlements, ended),
          write.channel,
          write.payload,
        ],
      });
    }
    if (claim !== undefined && claim.limit > 0) {
      const { name, text } = this.#claim(claim.limit);
      statements.push({
        name: this.#preludeName,
        text: PRELUDE,
        values: [write.durable ? null : "off"],
      });
      statements.push({
        name,
        text,
        values: [
          claim.names,
          claim.now,
          claim.workerId,
          claim.now + claim.leaseDuration,
          claim.queues ?? null,
        ],
      });
    }
    if (ended.length > 0) {
      statements.push({
        name: this.#probeName,
        text: this.#probeText,
        values: [ended],
      });
    }
    return statements;
  }

  /** The step's result, from each statement's one row, in order. */
  result(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
    rows: readonly (readonly (string | null)[])[],
  ): SettleAndClaimResult {
    let index = 0;
    let applied: boolean[] = [];
    // Rows per statement, in order: settle, prelude, claim, probe.
    if (settlements.length > 0) {
      // The ordinals (from 1) of the settlements applied: a batch may hold
      // a stale and a current token of one task.
      const [settled] = JSON.parse(rows[index++]?.[0] ?? "[[]]") as [
        number[],
      ];
      applied = settlements.map(() => false);
      for (const ordinal of settled) applied[ordinal - 1] = true;
    }
    if (claim === undefined || claim.limit <= 0) {
      return { applied, claimed: [] };
    }
    index++; // the prelude
    const [claimedRows, next, limitedQueues] = JSON.parse(
      rows[index]?.[0] ?? "[[]]",
    ) as [ClaimedJson[], number | null, boolean | undefined];
    const claimed: ClaimedTask[] = claimedRows.map((claimedRow) => ({
      id: claimedRow[0],
      name: claimedRow[1],
      args: claimedRow[2],
      attempt: claimedRow[3],
      maxAttempts: claimedRow[4],
      timeout: claimedRow[5],
      priority: claimedRow[6],
      runAt: claimedRow[7],
      queue: claimedRow[8],
    }));
    // RETURNING order is unspecified; hand tasks out in queue order.
    claimed.sort((a, b) =>
      b.priority - a.priority || a.runAt - b.runAt || a.id - b.id
    );
    const result: SettleAndClaimResult = { applied, claimed };
    if (next !== null && next !== undefined) result.nextRunAt = next;
    if (limitedQueues !== undefined) result.limitedQueues = limitedQueues;
    return result;
  }
}

/**
 * The settle statement's first twelve parameters: one array per column,
 * a settlement per index; the ids of the tasks that end go to `ended`.
 */
function settleColumns(
  settlements: readonly Settlement[],
  ended: number[],
): unknown[][] {
  const count = settlements.length;
  const ids: number[] = new Array(count);
  const workerIds: string[] = new Array(count);
  const attempts: number[] = new Array(count);
  const statuses: string[] = new Array(count);
  const results: (string | null)[] = new Array(count);
  const errors: (string | null)[] = new Array(count);
  const finishedAts: (number | null)[] = new Array(count);
  const runAts: (number | null)[] = new Array(count);
  const deltas: number[] = new Array(count);
  const startedAts: number[] = new Array(count);
  const outcomes: string[] = new Array(count);
  const endedAts: number[] = new Array(count);
  settlements.forEach((settlement, index) => {
    // The task's columns as every settle writes them; the error column is
    // the history row's (the statement keeps the task's own error unless
    // the attempt failed).
    const { status, result, finishedAt, runAt, attemptDelta } = settleParams(
      settlement,
    );
    if (finishedAt !== null) ended.push(settlement.id);
    ids[index] = settlement.id;
    workerIds[index] = settlement.workerId;
    attempts[index] = settlement.attempt;
    statuses[index] = status;
    results[index] = result;
    errors[index] = historyRow(settlement).error;
    finishedAts[index] = finishedAt;
    runAts[index] = runAt;
    deltas[index] = attemptDelta;
    startedAts[index] = settlement.startedAt;
    outcomes[index] = settlement.outcome;
    endedAts[index] = settlement.finishedAt;
  });
  return [
    ids,
    workerIds,
    attempts,
    statuses,
    results,
    errors,
    finishedAts,
    runAts,
    deltas,
    startedAts,
    outcomes,
    endedAts,
  ];
}

/** A claimed row as the statement's JSON carries it. */
type ClaimedJson = [
  id: number,
  name: string,
  args: string,
  attempts: number,
  maxAttempts: number,
  timeout: number | null,
  priority: number,
  runAt: number,
  queue: string,
];

/** A 32-bit FNV-1a hash, in base 36: names a statement by its text. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}
