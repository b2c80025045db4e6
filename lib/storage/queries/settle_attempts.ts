/**
 * Settle: the ends of attempts, each written only while its fencing token
 * still holds, plus one history row per settlement that was applied.
 *
 * Parameters: the {@linkcode Settlement}s and the caller's write
 * transaction. Guard: `whereOwned` (see `ownership.ts`) for each; a
 * settlement whose token is stale changes nothing and writes no history.
 * Each outcome is one `UPDATE`, so a failure and its reschedule happen
 * together: a failed task is never claimable before its backoff has passed.
 * Only a retry sets `run_at`: SQLite updates an index only for a statement
 * that sets one of its columns, so the others leave the run-time index
 * (`sitq_tasks_next_run`, migration v5) alone, one page less per commit.
 * - `completed`: the result is stored and the task ends `completed`.
 * - `failed` / `timed_out`: the error is stored; the task is `queued` again
 *   at `retryAt`, or ends `failed` when `retryAt` is null.
 * - `interrupted`: the worker stopped, not the task; it goes back to the
 *   queue at once and the attempt is given back (`attempts - 1`).
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { TaskStatus } from "../../core/types.ts";
import type { AttemptRow, Settlement } from "../backend.ts";
import {
  PreparedQuery,
  PreparedRows,
  statementSlices,
} from "../prepared_query.ts";
import { ATTEMPT_COLUMNS, type SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";
import { whereOwned } from "./ownership.ts";

/** A settlement's values for the settle `UPDATE` (see {@linkcode settleParams}). */
export interface SettleParams extends Record<string, unknown> {
  status: TaskStatus;
  result: string | null;
  error: string | null;
  finishedAt: number | null;
  /** The retry's run time; null leaves `run_at` as it is. */
  runAt: number | null;
  attemptDelta: number;
  id: number;
  workerId: string;
  attempt: number;
}

/** The settle `UPDATE`, setting `run_at` or not. */
function settleQuery(
  db: Kysely<SitqSchema>,
  setsRunAt: boolean,
): PreparedQuery<SettleParams> {
  return new PreparedQuery<SettleParams>((param) =>
    db.updateTable("sitq_tasks")
      .set((eb) => ({
        status: param("status"),
        result: param("result"),
        error: eb.fn.coalesce(eb.val(param("error")), eb.ref("error")),
        finished_at: param("finishedAt"),
        ...(setsRunAt ? { run_at: param("runAt") as number } : {}),
        attempts: eb("attempts", "-", param("attemptDelta")),
        lease_expires_at: null,
      }))
      .where(whereOwned({
        id: param("id"),
        workerId: param("workerId"),
        attempt: param("attempt"),
      }))
  );
}

/** The statements that write attempts' ends, compiled once per instance. */
export class SettleAttempts {
  /** Ends that keep the run time: completed, failed for good, interrupted. */
  readonly #end: PreparedQuery<SettleParams>;
  /** Failures to be retried: queued again at a new run time. */
  readonly #retry: PreparedQuery<SettleParams>;
  readonly #history: PreparedRows<AttemptRow>;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    this.#end = settleQuery(db, false);
    this.#retry = settleQuery(db, true);
    this.#history = new PreparedRows<AttemptRow>(
      ATTEMPT_COLUMNS,
      (rows) => db.insertInto("sitq_attempts").values(rows),
    );
  }

  /**
   * Writes `settlements`, then the history of those applied, in one
   * statement per slice rather than one per task.
   *
   * @returns Per settlement, whether its token still held.
   */
  *run(settlements: readonly Settlement[]): WriteProgram<boolean[]> {
    const applied: boolean[] = [];
    const history: AttemptRow[] = [];
    for (const settlement of settlements) {
      const params = settleParams(settlement);
      const query = params.runAt === null ? this.#end : this.#retry;
      const result = yield* statement(query.with(params));
      const owned = Boolean(result.numAffectedRows);
      applied.push(owned);
      // A completed attempt is described by its task's row (see
      // selectAttempts): only attempts the row will not keep get a row.
      if (owned && settlement.outcome !== "completed") {
        history.push(historyRow(settlement));
      }
    }
    for (const slice of statementSlices(history)) {
      yield* statement(this.#history.with(slice));
    }
    return applied;
  }
}

/**
 * What a settlement writes to its task's row: status, result, error, end
 * and retry times, and the attempt given back (an interruption). Shared
 * with PostgreSQL's one-trip settle, which writes the same columns.
 */
export function settleParams(settlement: Settlement): SettleParams {
  // One object literal, its fields always in one order: built per task, it
  // stays one shape for the engine (spreading a token into per-outcome
  // literals cost a tenth of a worker's time on Node 20).
  let status: TaskStatus = "queued";
  let result: string | null = null;
  let error: string | null = null;
  let finishedAt: number | null = null;
  let runAt: number | null = null;
  let attemptDelta = 0;
  switch (settlement.outcome) {
    case "completed":
      status = "completed";
      result = settlement.result;
      finishedAt = settlement.finishedAt;
      break;
    case "failed":
    case "timed_out":
      error = settlement.error;
      runAt = settlement.retryAt;
      if (runAt === null) {
        status = "failed";
        finishedAt = settlement.finishedAt;
      }
      break;
    case "interrupted":
      // The worker stopped, not the task: give the attempt back.
      attemptDelta = 1;
      break;
  }
  return {
    status,
    result,
    error,
    finishedAt,
    runAt,
    attemptDelta,
    id: settlement.id,
    workerId: settlement.workerId,
    attempt: settlement.attempt,
  };
}

/** The history row of a settled attempt. */
export function historyRow(settlement: Settlement): AttemptRow {
  return {
    task_id: settlement.id,
    attempt: settlement.attempt,
    worker_id: settlement.workerId,
    started_at: settlement.startedAt,
    finished_at: settlement.finishedAt,
    outcome: settlement.outcome,
    error: settlement.outcome === "completed" ? null : settlement.error,
  };
}
