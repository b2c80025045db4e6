/**
 * Insert, whole: a batch of new tasks with and without unique keys. Rows
 * without a key take the plain multi-row insert (`insert_tasks.ts`), rows
 * with one the keyed insert (`insert_keyed.ts`); a batch is cut into runs
 * of one kind, taken in order, so rows are applied as if inserted one after
 * another, all in the caller's write transaction.
 *
 * Returns the ids (for a keyed row, its key's holder) or an
 * {@linkcode InsertOutcome} per row, in order. A batch without keys costs
 * what the plain insert costs.
 *
 * In a transaction of the caller's, a batch that may be refused part way
 * (`onDuplicate: "error"`) runs inside a savepoint, so that the refusal
 * leaves none of it behind and the caller's transaction usable; in the
 * backend's own transactions the rollback does that.
 *
 * @module
 */
import { CompiledQuery, type Kysely } from "kysely";
import { DuplicateKeyError } from "../../core/errors.ts";
import type { InsertOutcome, NewTaskRow } from "../backend.ts";
import type { SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";
import { checkBatchKeys, hasKey, InsertKeyed } from "./insert_keyed.ts";
import { InsertTasks } from "./insert_tasks.ts";
import type { KeyHolders } from "./key_holders.ts";

const SAVEPOINT = CompiledQuery.raw("savepoint sitq_enqueue");
const ROLLBACK_TO = CompiledQuery.raw("rollback to savepoint sitq_enqueue");
const RELEASE = CompiledQuery.raw("release savepoint sitq_enqueue");

/** Where an insert runs: the backend's own transaction, or the caller's. */
export interface InsertPlace {
  /** Whether the transaction is the caller's (its commit is not ours). */
  callers: boolean;
}

const OWN: InsertPlace = { callers: false };

/** Whether `tasks` may be refused after some of them were written. */
function refusable(tasks: readonly NewTaskRow[]): boolean {
  return tasks.length > 1 &&
    tasks.some((task) => hasKey(task) && task.onDuplicate === "error");
}

/** The insert of both kinds of rows, compiled for one Kysely instance. */
export class InsertRows {
  readonly #plain: InsertTasks;
  readonly #keyed: InsertKeyed;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    this.#plain = new InsertTasks(db);
    this.#keyed = new InsertKeyed(db);
  }

  /** The key-holder statements, for requeue. */
  get holders(): KeyHolders {
    return this.#keyed.holders;
  }

  /** Inserts `tasks`; returns, per row, the id of its task or key holder. */
  *ids(
    tasks: readonly NewTaskRow[],
    place: InsertPlace = OWN,
  ): WriteProgram<number[]> {
    if (!tasks.some(hasKey)) return yield* this.#plain.run(tasks);
    return (yield* this.outcomes(tasks, place)).map((outcome) => outcome.id);
  }

  /** Inserts `tasks`; returns an outcome per row. */
  *outcomes(
    tasks: readonly NewTaskRow[],
    place: InsertPlace = OWN,
  ): WriteProgram<InsertOutcome[]> {
    checkBatchKeys(tasks);
    if (!place.callers || !refusable(tasks)) return yield* this.#all(tasks);
    yield* statement(SAVEPOINT);
    let outcomes: InsertOutcome[];
    try {
      outcomes = yield* this.#all(tasks);
    } catch (error) {
      // A refusal leaves the transaction healthy: undo the batch's rows.
      // (A failed statement is the driver's to report; on PostgreSQL the
      // caller's transaction is aborted then anyway.)
      if (error instanceof DuplicateKeyError) {
        yield* statement(ROLLBACK_TO);
        yield* statement(RELEASE);
      }
      throw error;
    }
    yield* statement(RELEASE);
    return outcomes;
  }

  /** Every run of `tasks`, in order. */
  *#all(tasks: readonly NewTaskRow[]): WriteProgram<InsertOutcome[]> {
    const outcomes: InsertOutcome[] = [];
    let start = 0;
    while (start < tasks.length) {
      const keyed = hasKey(tasks[start]!);
      let end = start + 1;
      while (end < tasks.length && hasKey(tasks[end]!) === keyed) end++;
      const run = tasks.slice(start, end);
      if (keyed) {
        for (const outcome of yield* this.#keyed.run(run)) {
          outcomes.push(outcome);
        }
      } else {
        for (const id of yield* this.#plain.run(run)) {
          outcomes.push({
            id,
            created: true,
            replaced: false,
            status: "queued",
          });
        }
      }
      start = end;
    }
    return outcomes;
  }
}
