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
import { type Kysely, sql } from "kysely";
import type { TaskStatus } from "../../core/types.ts";
import type { AttemptRow, Settlement } from "../backend.ts";
import {
  paddedLength,
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

/** One completed attempt's values for {@linkcode completeMany}. */
export interface CompletedRow {
  id: number;
  worker_id: string;
  attempt: number;
  result: string | null;
  finished_at: number;
}

const COMPLETED_COLUMNS: readonly (keyof CompletedRow)[] = [
  "id",
  "worker_id",
  "attempt",
  "result",
  "finished_at",
];

/**
 * Completed attempts, several per statement: an `UPDATE ... FROM` a
 * `VALUES` list, each row under the fencing rule (`whereOwned`),
 * returning the ids it changed. SQLite does the same work either way (a
 * batch of eight took 16-20 µs as one statement or eight on Node 20), but
 * one statement per batch instead of one per task spares the worker seven
 * trips through the statement path: 10% fewer instructions per task for a
 * worker at concurrency 8 on Node 20, counted by callgrind. The values are
 * cast, as PostgreSQL types a `VALUES` list's parameters as text.
 */
function completeMany(
  db: Kysely<SitqSchema>,
): PreparedRows<CompletedRow, { id: number }> {
  return new PreparedRows<CompletedRow, { id: number }>(
    COMPLETED_COLUMNS,
    (rows) =>
      db.with(
        "v(id, worker_id, attempt, result, finished_at)",
        () =>
          // Kysely writes a raw CTE body as it is: the parentheses are ours.
          sql<CompletedRow>`(values ${
            sql.join(
              rows.map((row) =>
                sql`(cast(${row.id} as bigint), cast(${row.worker_id} as text), cast(${row.attempt} as bigint), cast(${row.result} as text), cast(${row.finished_at} as bigint))`
              ),
            )
          })`,
      )
        .updateTable("sitq_tasks")
        .from("v")
        .set((eb) => ({
          status: sql.lit("completed"),
          result: eb.ref("v.result"),
          finished_at: eb.ref("v.finished_at"),
          lease_expires_at: null,
        }))
        .where(whereOwned({
          id: sql.ref("v.id"),
          workerId: sql.ref("v.worker_id"),
          attempt: sql.ref("v.attempt"),
        }))
        .returning("sitq_tasks.id"),
  );
}

/**
 * `rows` lengthened to {@linkcode paddedLength} by repeating its last row.
 * A repeated row changes nothing: it names the task its first copy names
 * with the same values, and an `UPDATE ... FROM` updates (and returns) a
 * row once however many `FROM` rows match it.
 */
function padded(rows: readonly CompletedRow[]): readonly CompletedRow[] {
  const size = paddedLength(rows.length);
  if (size <= rows.length) return rows;
  const last = rows[rows.length - 1]!;
  const all = rows.slice();
  while (all.length < size) all.push(last);
  return all;
}

/** The statements that write attempts' ends, compiled once per instance. */
export class SettleAttempts {
  /** Ends that keep the run time: completed, failed for good, interrupted. */
  readonly #end: PreparedQuery<SettleParams>;
  /** Failures to be retried: queued again at a new run time. */
  readonly #retry: PreparedQuery<SettleParams>;
  /** Two or more completions at once. */
  readonly #completeMany: PreparedRows<CompletedRow, { id: number }>;
  readonly #history: PreparedRows<AttemptRow>;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    this.#end = settleQuery(db, false);
    this.#retry = settleQuery(db, true);
    this.#completeMany = completeMany(db);
    this.#history = new PreparedRows<AttemptRow>(
      ATTEMPT_COLUMNS,
      (rows) => db.insertInto("sitq_attempts").values(rows),
    );
  }

  /**
   * Writes `settlements`, then the history of those applied, in one
   * statement per slice rather than one per task: completions together
   * (when there are two or more), every other end one by one.
   *
   * @returns Per settlement, whether its token still held.
   */
  *run(settlements: readonly Settlement[]): WriteProgram<boolean[]> {
    const applied = new Array<boolean>(settlements.length).fill(false);
    const history: AttemptRow[] = [];
    const completed: number[] = [];
    for (let index = 0; index < settlements.length; index++) {
      const settlement = settlements[index]!;
      if (settlement.outcome === "completed") {
        completed.push(index);
        continue;
      }
      const result = yield* statement(this.#one(settlement));
      const owned = Boolean(result.numAffectedRows);
      applied[index] = owned;
      // A completed attempt is described by its task's row (see
      // selectAttempts): only attempts the row will not keep get a row.
      if (owned) history.push(historyRow(settlement));
    }
    if (completed.length === 1) {
      const index = completed[0]!;
      const result = yield* statement(this.#one(settlements[index]!));
      applied[index] = Boolean(result.numAffectedRows);
    } else if (completed.length > 1) {
      yield* this.#completeAll(settlements, completed, applied);
    }
    for (const slice of statementSlices(history)) {
      yield* statement(this.#history.with(slice));
    }
    return applied;
  }

  /** The statement that writes one settlement. */
  #one(settlement: Settlement) {
    const params = settleParams(settlement);
    return (params.runAt === null ? this.#end : this.#retry).with(params);
  }

  /**
   * Writes the completions at `indexes` of `settlements` together, marking
   * in `applied` those whose token held.
   */
  *#completeAll(
    settlements: readonly Settlement[],
    indexes: readonly number[],
    applied: boolean[],
  ): WriteProgram<void> {
    const rows: CompletedRow[] = [];
    for (const index of indexes) {
      const settlement = settlements[index] as Settlement & {
        outcome: "completed";
      };
      rows.push({
        id: settlement.id,
        worker_id: settlement.workerId,
        attempt: settlement.attempt,
        result: settlement.result,
        finished_at: settlement.finishedAt,
      });
    }
    const owned = new Set<number>();
    for (const slice of statementSlices(rows)) {
      const result = yield* statement(this.#completeMany.with(padded(slice)));
      for (const row of result.rows) owned.add(Number(row.id));
    }
    for (const index of indexes) {
      if (owned.has(settlements[index]!.id)) applied[index] = true;
    }
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
