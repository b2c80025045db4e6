/**
 * Insert: new tasks, `queued`, in as few statements as the batch allows.
 *
 * Parameters: the {@linkcode NewTaskRow}s (at least one) and the caller's
 * write transaction. Guard: none; every row becomes a queued task.
 * Returns the new ids in insert order.
 *
 * @module
 */
import { type Kysely, type RawBuilder, sql } from "kysely";
import type { NewTaskRow } from "../backend.ts";
import { PreparedRows, statementSlices } from "../prepared_query.ts";
import type { SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";

/** Every field of a new task, each one parameter per row. */
const NEW_TASK_FIELDS = [
  "name",
  "args",
  "priority",
  "runAt",
  "maxAttempts",
  "timeout",
  "createdAt",
  "queue",
] as const satisfies readonly (keyof NewTaskRow)[];

/** The fields of a new task that every insert writes. */
export type NewTaskFields =
  & Pick<
    NewTaskRow,
    | "name"
    | "args"
    | "priority"
    | "runAt"
    | "maxAttempts"
    | "timeout"
    | "createdAt"
  >
  & {
    /** The queue; absent or null: "default". */
    queue?: string | null;
  };

/** The columns {@linkcode newTaskColumns} writes. */
export interface NewTaskColumns {
  name: string;
  args: string;
  status: "queued";
  priority: number;
  run_at: number;
  max_attempts: number;
  timeout_ms: number | null;
  created_at: number;
  /** The row's queue; a row without one (NULL) goes to "default". */
  queue: RawBuilder<string>;
}

/**
 * A new task's columns, `queued`: the one mapping from row fields to
 * columns, shared by the keyed and the workflow inserts, which add their own.
 */
export function newTaskColumns(row: NewTaskFields): NewTaskColumns {
  return {
    name: row.name,
    args: row.args,
    status: "queued" as const,
    priority: row.priority,
    run_at: row.runAt,
    max_attempts: row.maxAttempts,
    timeout_ms: row.timeout,
    created_at: row.createdAt,
    queue: sql<string>`coalesce(${row.queue ?? null}, 'default')`,
  };
}

/** The insert, compiled once per row count for one Kysely instance. */
export class InsertTasks {
  readonly #insert: PreparedRows<NewTaskRow, { id: number }>;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    this.#insert = new PreparedRows<NewTaskRow, { id: number }>(
      NEW_TASK_FIELDS,
      (rows) =>
        db.insertInto("sitq_tasks").values(rows.map(newTaskColumns))
          .returning("id"),
    );
  }

  /** Inserts `tasks`; returns their ids in insert order. */
  *run(tasks: readonly NewTaskRow[]): WriteProgram<number[]> {
    const ids: number[] = [];
    for (const slice of statementSlices(tasks)) {
      const { rows } = yield* statement(this.#insert.with(slice));
      for (const row of rows) ids.push(Number(row.id));
    }
    // RETURNING order is unspecified; ids are increasing in insert order.
    return ids.sort((a, b) => a - b);
  }
}
