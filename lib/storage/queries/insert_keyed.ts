/**
 * Keyed insert: rows with a unique key, each creating a task only if no
 * task of its name holds its key (see `key_holders.ts` for the index that
 * decides, and `NewTaskRow.onDuplicate` for what a row does otherwise).
 *
 * Parameters: the rows of a batch that carry a key, in order, and the
 * caller's write transaction. Returns an {@linkcode InsertOutcome} per row.
 *
 * How, race-free on both databases without a lock of sitq's own:
 * 1. Each key's first row of the batch is inserted in one multi-row
 *    `insert ... on conflict do nothing returning` per 500 rows. The index
 *    is the arbiter: a row whose key is held is skipped, on PostgreSQL after
 *    waiting for a concurrent transaction that inserted the key to commit
 *    (skipped) or roll back (inserted). The rows go in key order, so that
 *    two batches sharing keys wait for each other in the same order and
 *    never in a cycle; the ids of the created tasks follow that order.
 * 2. Every other row (a key that was held, a later row with an earlier
 *    row's key) goes alone, in batch order: insert (skipped if held), else
 *    read the holder and keep, replace or refuse. A holder whose window is
 *    over is released and the insert tried again; on PostgreSQL a holder
 *    that left between the insert and the read (it failed, was cancelled)
 *    sends the row round again too. Every round is decided by the index,
 *    and rounds are bounded.
 *
 * @module
 */
import type { Kysely } from "kysely";
import { DuplicateKeyError } from "../../core/errors.ts";
import type { OnDuplicate } from "../../core/unique_keys.ts";
import type { InsertOutcome, NewTaskRow } from "../backend.ts";
import { PreparedRows, statementSlices } from "../prepared_query.ts";
import type { SitqSchema } from "../schema.ts";
import { statement, type WriteProgram } from "../write_program.ts";
import { newTaskColumns } from "./insert_tasks.ts";
import { KeyHolders, windowOver } from "./key_holders.ts";

/** A row with a key, every field present (one parameter each). */
interface KeyedRow {
  name: string;
  args: string;
  priority: number;
  runAt: number;
  maxAttempts: number;
  timeout: number | null;
  createdAt: number;
  uniqueKey: string;
  uniqueFor: number | null;
  queue: string | null;
}

const KEYED_FIELDS = [
  "name",
  "args",
  "priority",
  "runAt",
  "maxAttempts",
  "timeout",
  "createdAt",
  "uniqueKey",
  "uniqueFor",
  "queue",
] as const satisfies readonly (keyof KeyedRow)[];

/**
 * How many rounds one row may take (insert, read the holder, act). A round
 * ends early only when the holder changed under it, which needs another
 * transaction's commit between two statements: more than a few in a row
 * means something keeps rewriting the key, and the caller should hear.
 */
const MAX_ROUNDS = 8;

/** Whether `row` carries a unique key. */
export function hasKey(row: NewTaskRow): boolean {
  return row.uniqueKey !== undefined && row.uniqueKey !== null;
}

/** `(name, key)` as one map key. */
function slot(row: { name: string; uniqueKey?: string | null }): string {
  return JSON.stringify([row.name, row.uniqueKey]);
}

function toKeyedRow(row: NewTaskRow): KeyedRow {
  return {
    name: row.name,
    args: row.args,
    priority: row.priority,
    runAt: row.runAt,
    maxAttempts: row.maxAttempts,
    timeout: row.timeout,
    createdAt: row.createdAt,
    uniqueKey: row.uniqueKey!,
    uniqueFor: row.uniqueFor ?? null,
    queue: row.queue ?? null,
  };
}

/**
 * Throws {@linkcode DuplicateKeyError} (holder undefined) when a row whose
 * `onDuplicate` is `"error"` has the key of an earlier row of `rows`: it
 * would meet that row as its holder, and the whole batch would be refused,
 * so it is refused before anything is written.
 */
export function checkBatchKeys(rows: readonly NewTaskRow[]): void {
  const seen = new Set<string>();
  for (const row of rows) {
    if (!hasKey(row)) continue;
    const key = slot(row);
    if (seen.has(key) && row.onDuplicate === "error") {
      throw new DuplicateKeyError(row.name, row.uniqueKey!, undefined);
    }
    seen.add(key);
  }
}

/** The keyed insert, compiled once per row count for one Kysely instance. */
export class InsertKeyed {
  readonly #insert: PreparedRows<
    KeyedRow,
    { id: number | string; name: string; unique_key: string }
  >;
  readonly #holders: KeyHolders;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    this.#insert = new PreparedRows(
      KEYED_FIELDS,
      (rows) =>
        db.insertInto("sitq_tasks").values(rows.map((row) => ({
          ...newTaskColumns(row),
          unique_key: row.uniqueKey,
          unique_for: row.uniqueFor,
        })))
          .onConflict((conflict) => conflict.doNothing())
          .returning(["id", "name", "unique_key"]),
    );
    this.#holders = new KeyHolders(db);
  }

  /** The holder statements, for requeue. */
  get holders(): KeyHolders {
    return this.#holders;
  }

  /**
   * Inserts `rows` (each with a key) as the module doc says; returns their
   * outcomes in order.
   */
  *run(rows: readonly NewTaskRow[]): WriteProgram<InsertOutcome[]> {
    const outcomes = new Array<InsertOutcome | undefined>(rows.length);
    // Step 1: each key's first row, together, in key order.
    const leads = new Map<string, number>();
    rows.forEach((row, index) => {
      const key = slot(row);
      if (!leads.has(key)) leads.set(key, index);
    });
    const order = [...leads.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, index]) => index);
    for (const slice of statementSlices(order)) {
      const { rows: created } = yield* statement(
        this.#insert.with(slice.map((index) => toKeyedRow(rows[index]!))),
      );
      for (const row of created) {
        const index = leads.get(
          slot({ name: row.name, uniqueKey: row.unique_key }),
        )!;
        outcomes[index] = {
          id: Number(row.id),
          created: true,
          replaced: false,
          status: "queued",
        };
      }
    }
    // Step 2: the rest, alone and in order.
    for (const [index, row] of rows.entries()) {
      outcomes[index] ??= yield* this.#one(row);
    }
    return outcomes as InsertOutcome[];
  }

  /** One row, in rounds until the index has decided it. */
  *#one(row: NewTaskRow): WriteProgram<InsertOutcome> {
    const keyed = toKeyedRow(row);
    const mode: OnDuplicate = row.onDuplicate ?? "keep";
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const { rows: created } = yield* statement(this.#insert.with([keyed]));
      if (created.length > 0) {
        const id = Number(created[0]!.id);
        return { id, created: true, replaced: false, status: "queued" };
      }
      const holder = KeyHolders.first(
        (yield* statement(this.#holders.holder(keyed.name, keyed.uniqueKey)))
          .rows,
      );
      // Gone since the insert ran into it (PostgreSQL: another
      // transaction settled or cancelled it in between): try again.
      if (holder === undefined) continue;
      if (windowOver(holder, keyed.createdAt)) {
        yield* statement(this.#holders.release(holder.id, keyed.createdAt));
        continue;
      }
      if (mode === "error") {
        throw new DuplicateKeyError(keyed.name, keyed.uniqueKey, holder.id);
      }
      const kept = {
        id: holder.id,
        created: false,
        replaced: false,
        status: holder.status,
      };
      if (
        mode === "keep" ||
        (holder.status !== "queued" && holder.status !== "waiting" as string)
      ) {
        return kept;
      }
      const { rows: replaced } = yield* statement(
        this.#holders.replace({
          id: holder.id,
          args: keyed.args,
          priority: keyed.priority,
          runAt: keyed.runAt,
          maxAttempts: keyed.maxAttempts,
          timeout: keyed.timeout,
          uniqueFor: keyed.uniqueFor,
          queue: keyed.queue ?? "default",
        }),
      );
      if (replaced.length > 0) {
        return {
          id: holder.id,
          created: false,
          replaced: true,
          status: replaced[0]!.status,
        };
      }
      // Claimed since it was read (PostgreSQL): the next round sees it
      // running and keeps it.
    }
    throw new Error(
      `Cannot enqueue task "${keyed.name}" with unique key ${
        JSON.stringify(keyed.uniqueKey)
      }: its holder changed ${MAX_ROUNDS} times while this enqueue ran; try again`,
    );
  }
}
