/**
 * Requeue, for a task with a unique key: a failed or cancelled task gave
 * its key up, and another task of its name may hold it now. Putting it
 * back in the queue would make it a second holder, which the unique index
 * refuses; so requeue reports the holder instead (`heldBy`), and the queue
 * turns that into a `DuplicateKeyError`.
 *
 * Parameters: the id, `now`. In the caller's write transaction: read the
 * task; if it has a key and another task holds it, change nothing and name
 * that task; else the plain requeue (`manage_tasks.ts`). On SQLite nothing
 * can come between the read and the update (one writer at a time). On
 * PostgreSQL another transaction may take the key in between; the index
 * then fails the update, and {@linkcode isKeyConflict} lets the backend
 * tell that failure from others and answer with the holder.
 *
 * @module
 */
import type { Kysely } from "kysely";
import { DatabaseError } from "../../core/errors.ts";
import type { TransitionResult } from "../backend.ts";
import type { QueryRunner } from "../prepared_query.ts";
import type { SitqSchema } from "../schema.ts";
import { selectTask } from "./inspect_tasks.ts";
import { KeyHolders } from "./key_holders.ts";
import { requeueTask } from "./manage_tasks.ts";

/** The name of the index that decides who holds a key (migration v4). */
const KEY_INDEX = "sitq_tasks_unique_key";

/**
 * The task other than `id` that holds the unique key of task `id`, if
 * task `id` has a key; read in `runner`.
 */
export async function otherKeyHolder(
  runner: Kysely<SitqSchema>,
  holders: KeyHolders,
  id: number,
): Promise<number | undefined> {
  const row = await selectTask(runner, id);
  if (row === undefined || row.unique_key === null) return undefined;
  const { rows } = await (runner as QueryRunner).executeQuery(
    holders.otherHolder(row.name, row.unique_key, id),
  );
  return KeyHolders.first(rows)?.id;
}

/** Requeues task `id` unless another task holds its key; see the module doc. */
export async function requeueKeyed(
  trx: Kysely<SitqSchema>,
  holders: KeyHolders,
  id: number,
  now: number,
): Promise<TransitionResult> {
  const heldBy = await otherKeyHolder(trx, holders, id);
  if (heldBy === undefined) return await requeueTask(trx, id, now);
  return { changed: false, row: await selectTask(trx, id), heldBy };
}

/**
 * Whether `error` (as a backend throws it) is the unique key index
 * refusing a second holder: PostgreSQL's unique violation (23505) on that
 * index, or SQLite's "UNIQUE constraint failed" on its columns.
 */
export function isKeyConflict(error: unknown): boolean {
  const cause = error instanceof DatabaseError ? error.cause : error;
  if (typeof cause !== "object" || cause === null) return false;
  const { code, constraint, message } = cause as {
    code?: unknown;
    constraint?: unknown;
    message?: unknown;
  };
  if (code === "23505") return constraint === KEY_INDEX;
  return typeof message === "string" &&
    message.includes("UNIQUE constraint failed") &&
    message.includes("sitq_tasks.unique_key");
}
