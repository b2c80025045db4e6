/**
 * Renew: extends the leases of running attempts, so that lease recovery
 * leaves them alone while their worker is alive.
 *
 * Parameters: the attempts' {@linkcode FencingToken}s, the new expiry
 * (`leaseExpiresAt`, epoch ms) and the caller's write transaction.
 * Guard: `whereOwned` (see `ownership.ts`) for each token; a stale one
 * renews nothing, and its absence from the result tells the worker that
 * the attempt is no longer its own.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { FencingToken } from "../backend.ts";
import type { SitqSchema } from "../schema.ts";
import { whereOwned } from "./ownership.ts";

/** Extends each lease `tokens` still fences; returns the ids renewed. */
export async function renewLeases(
  trx: Kysely<SitqSchema>,
  tokens: readonly FencingToken[],
  leaseExpiresAt: number,
): Promise<Set<number>> {
  const owned = new Set<number>();
  for (const token of tokens) {
    const result = await trx.updateTable("sitq_tasks")
      .set({ lease_expires_at: leaseExpiresAt })
      .where(whereOwned(token))
      .executeTakeFirst();
    if (result.numUpdatedRows > 0n) owned.add(token.id);
  }
  return owned;
}
