/**
 * Key holders: the statements about the task that holds a unique key, for
 * the keyed insert (`insert_keyed.ts`) and for requeue.
 *
 * Who holds a key is decided by one unique index, `sitq_tasks_unique_key`
 * on `(name, unique_key)` (migration v4), partial on the rows that hold
 * their key: waiting, queued and running tasks, and completed ones with a
 * `unique_for` window not yet given up. Inserting is the only way to take
 * a key; an insert that would make a second holder is skipped by the
 * database (`on conflict do nothing`), on PostgreSQL after waiting for a
 * concurrent transaction that holds the key to end. Nothing here checks
 * first and inserts after: these statements only read or change the
 * holder that an insert ran into.
 *
 * - Holder. Parameters: name, key. Returns the holder (id, status,
 *   finished_at, unique_for), if any.
 * - Release. Parameters: the holder's id, `now`. Guard: completed, window
 *   not given up, `finished_at + unique_for <= now`; sets
 *   `unique_released_at`, which takes the row out of the index.
 * - Replace. Parameters: the holder's id and the new run. Guard: waiting or
 *   queued (on PostgreSQL checked again on the locked row, so a task just
 *   claimed is never rewritten). Sets the run's fields, attempts 0, last
 *   error and progress cleared.
 * - Other holder. Parameters: name, key, id. The holder of the key other
 *   than task `id`, for requeue.
 *
 * @module
 */
import {
  type CompiledQuery,
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  sql,
  type SqlBool,
} from "kysely";
import type { TaskStatus } from "../../core/types.ts";
import { PreparedQuery } from "../prepared_query.ts";
import { QUEUED, type SitqSchema } from "../schema.ts";

/**
 * The index's condition after `unique_key is not null`, spelled as the
 * migration spells it: SQLite uses a partial index only for a query that
 * states the same condition, with the same literals.
 */
export function holdsKey(
  eb: ExpressionBuilder<SitqSchema, "sitq_tasks">,
): Expression<SqlBool> {
  return eb.or([
    eb(sql.ref("status"), "in", [
      sql.lit("waiting"),
      sql.lit("queued"),
      sql.lit("running"),
    ]),
    eb.and([
      eb(sql.ref("status"), "=", sql.lit("completed")),
      eb(sql.ref("unique_for"), "is not", null),
      eb(sql.ref("unique_released_at"), "is", null),
    ]),
  ]);
}

/** The task holding a key, as the statements here read it. */
export interface Holder {
  /** Its id. */
  id: number;
  /** Its status: waiting, queued, running or completed. */
  status: TaskStatus;
  /** When it completed (epoch ms), or null. */
  finishedAt: number | null;
  /** Its window after completing (ms), or null. */
  uniqueFor: number | null;
}

interface KeyParams extends Record<string, unknown> {
  name: string;
  key: string;
}

interface OtherParams extends KeyParams {
  id: number;
}

interface ReleaseParams extends Record<string, unknown> {
  id: number;
  now: number;
}

/** The fields of a run that a replace writes over the holder's. */
export interface ReplaceParams extends Record<string, unknown> {
  id: number;
  args: string;
  priority: number;
  runAt: number;
  maxAttempts: number;
  timeout: number | null;
  uniqueFor: number | null;
  /** The run's queue (schema v8). */
  queue: string;
}

/** A holder's row as the database returns it. */
export interface HolderRow {
  id: number | string;
  status: TaskStatus;
  finished_at: number | string | null;
  unique_for: number | string | null;
}

/** A number column as a number (a caller's own PostgreSQL pool may return int8 as text). */
function numberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

function toHolder(row: HolderRow): Holder {
  return {
    id: Number(row.id),
    status: row.status,
    finishedAt: numberOrNull(row.finished_at),
    uniqueFor: numberOrNull(row.unique_for),
  };
}

/** Whether a completed holder's window is over at `now`. */
export function windowOver(holder: Holder, now: number): boolean {
  return holder.status === "completed" && holder.finishedAt !== null &&
    holder.uniqueFor !== null && holder.finishedAt + holder.uniqueFor <= now;
}

/** The holder statements, compiled once for one Kysely instance. */
export class KeyHolders {
  readonly #holder: PreparedQuery<KeyParams, HolderRow>;
  readonly #other: PreparedQuery<OtherParams, HolderRow>;
  readonly #release: PreparedQuery<ReleaseParams, { id: number }>;
  readonly #replace: PreparedQuery<ReplaceParams, { status: TaskStatus }>;

  /** @param db The instance the statements are compiled for. */
  constructor(db: Kysely<SitqSchema>) {
    const columns = ["id", "status", "finished_at", "unique_for"] as const;
    this.#holder = new PreparedQuery<KeyParams, HolderRow>((param) =>
      db.selectFrom("sitq_tasks").select(columns)
        .where("name", "=", param("name"))
        .where("unique_key", "=", param("key"))
        .where(holdsKey)
    );
    this.#other = new PreparedQuery<OtherParams, HolderRow>((param) =>
      db.selectFrom("sitq_tasks").select(columns)
        .where("name", "=", param("name"))
        .where("unique_key", "=", param("key"))
        .where(holdsKey)
        .where("id", "<>", param("id"))
    );
    this.#release = new PreparedQuery<ReleaseParams, { id: number }>((
      param,
    ) =>
      db.updateTable("sitq_tasks")
        .set({ unique_released_at: param("now") })
        .where("id", "=", param("id"))
        .where(sql.ref("status"), "=", sql.lit("completed"))
        .where("unique_released_at", "is", null)
        .where(
          sql<number>`${sql.ref("finished_at")} + ${sql.ref("unique_for")}`,
          "<=",
          param("now"),
        )
        .returning("id")
    );
    this.#replace = new PreparedQuery<ReplaceParams, { status: TaskStatus }>((
      param,
    ) =>
      db.updateTable("sitq_tasks").set({
        args: param("args"),
        priority: param("priority"),
        run_at: param("runAt"),
        max_attempts: param("maxAttempts"),
        timeout_ms: param("timeout"),
        unique_for: param("uniqueFor"),
        queue: param("queue"),
        attempts: 0,
        error: null,
        progress: null,
      })
        .where("id", "=", param("id"))
        .where(sql.ref("status"), "in", [sql.lit("waiting"), QUEUED])
        .returning("status")
    );
  }

  /** The statement reading the holder of `key` among tasks named `name`. */
  holder(name: string, key: string): CompiledQuery<HolderRow> {
    return this.#holder.with({ name, key });
  }

  /** The statement reading the holder of `key` other than task `id`. */
  otherHolder(
    name: string,
    key: string,
    id: number,
  ): CompiledQuery<HolderRow> {
    return this.#other.with({ name, key, id });
  }

  /** The statement giving up a completed holder's key once its window is over. */
  release(id: number, now: number): CompiledQuery<{ id: number }> {
    return this.#release.with({ id, now });
  }

  /** The statement rewriting a waiting or queued holder's run. */
  replace(params: ReplaceParams): CompiledQuery<{ status: TaskStatus }> {
    return this.#replace.with(params);
  }

  /** The holder in a result of {@linkcode KeyHolders.holder}, if any. */
  static first(rows: readonly HolderRow[]): Holder | undefined {
    const row = rows[0];
    return row === undefined ? undefined : toHolder(row);
  }
}
