/**
 * Settle: the ends of attempts, each written only while its fencing token
 * still holds, plus one history row per settlement that was applied.
 *
 * Parameters: the {@linkcode Settlement}s and the caller's write
 * transaction. Guard: `whereOwned` (see `ownership.ts`) for each; a
 * settlement whose token is stale changes nothing and writes no history.
 * Each outcome is one `UPDATE`, so a failure and its reschedule happen
 * together: a failed task is never claimable before its backoff has passed.
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
  type QueryRunner,
  statementSlices,
} from "../prepared_query.ts";
import { ATTEMPT_COLUMNS, type SitqSchema } from "../schema.ts";
import { whereOwned } from "./ownership.ts";

interface SettleParams extends Record<string, unknown> {
  status: TaskStatus;
  result: string | null;
  error: string | null;
  finishedAt: number | null;
  runAt: number | null;
  attemptDelta: number;
  id: number;
  workerId: string;
  attempt: number;
}

/** The statements that write attempts' ends, compiled once per instance. */
export class SettleAttempts {
  readonly #update: PreparedQuery<SettleParams>;
  readonly #history: PreparedRows<AttemptRow>;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    this.#update = new PreparedQuery<SettleParams>((param) =>
      db.updateTable("sitq_tasks")
        .set((eb) => ({
          status: param("status"),
          result: param("result"),
          error: eb.fn.coalesce(eb.val(param("error")), eb.ref("error")),
          finished_at: param("finishedAt"),
          run_at: eb.fn.coalesce(eb.val(param("runAt")), eb.ref("run_at")),
          attempts: eb("attempts", "-", param("attemptDelta")),
          lease_expires_at: null,
        }))
        .where(whereOwned({
          id: param("id"),
          workerId: param("workerId"),
          attempt: param("attempt"),
        }))
    );
    this.#history = new PreparedRows<AttemptRow>(
      ATTEMPT_COLUMNS,
      (rows) => db.insertInto("sitq_attempts").values(rows),
    );
  }

  /**
   * Writes `settlements` in `trx`, then the history of those applied, in
   * one statement per slice rather than one per task.
   *
   * @returns Per settlement, whether its token still held.
   */
  async run(
    trx: QueryRunner,
    settlements: readonly Settlement[],
  ): Promise<boolean[]> {
    const applied: boolean[] = [];
    const history: AttemptRow[] = [];
    for (const settlement of settlements) {
      const result = await this.#update.execute(
        trx,
        settleParams(settlement),
      );
      const owned = Boolean(result.numAffectedRows);
      applied.push(owned);
      if (owned) history.push(historyRow(settlement));
    }
    for (const slice of statementSlices(history)) {
      await this.#history.execute(trx, slice);
    }
    return applied;
  }
}

function settleParams(settlement: Settlement): SettleParams {
  const token = {
    id: settlement.id,
    workerId: settlement.workerId,
    attempt: settlement.attempt,
  };
  switch (settlement.outcome) {
    case "completed":
      return {
        ...token,
        status: "completed",
        result: settlement.result,
        error: null,
        finishedAt: settlement.finishedAt,
        runAt: null,
        attemptDelta: 0,
      };
    case "failed":
    case "timed_out": {
      const retry = settlement.retryAt !== null;
      return {
        ...token,
        status: retry ? "queued" : "failed",
        result: null,
        error: settlement.error,
        finishedAt: retry ? null : settlement.finishedAt,
        runAt: settlement.retryAt,
        attemptDelta: 0,
      };
    }
    case "interrupted":
      // The worker stopped, not the task: give the attempt back.
      return {
        ...token,
        status: "queued",
        result: null,
        error: null,
        finishedAt: null,
        runAt: null,
        attemptDelta: 1,
      };
  }
}

function historyRow(settlement: Settlement): AttemptRow {
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
