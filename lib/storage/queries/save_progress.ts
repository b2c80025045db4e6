/**
 * Progress: stores what a running handler last reported.
 *
 * Parameters: the attempt's {@linkcode FencingToken}, the serialized
 * progress and the caller's write transaction. Guard: `whereOwned` (see
 * `ownership.ts`); a stale token stores nothing, so a worker that lost its
 * lease cannot overwrite the progress of the attempt that replaced it.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { FencingToken } from "../backend.ts";
import type { SitqSchema } from "../schema.ts";
import { whereOwned } from "./ownership.ts";

/** Stores `progress` while `token` holds; returns whether it did. */
export async function saveProgress(
  trx: Kysely<SitqSchema>,
  token: FencingToken,
  progress: string,
): Promise<boolean> {
  const result = await trx.updateTable("sitq_tasks")
    .set({ progress })
    .where(whereOwned(token))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
