/**
 * Settle and claim: a worker's one write per step, the ends of its finished
 * attempts (`settle_attempts.ts`) and its next claim (`claim_tasks.ts`) in
 * one transaction, so a busy worker pays one commit per batch, not two per
 * task.
 *
 * Parameters: the {@linkcode Settlement}s (possibly none) and the
 * {@linkcode ClaimRequest} (none, or a limit of 0: settle only). After a
 * short claim, the earliest run time of the worker's queued tasks comes
 * back too (`nextRunAt`), so the worker can wake for it.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type {
  ClaimRequest,
  SettleAndClaimResult,
  Settlement,
} from "../backend.ts";
import type { ClaimLocking } from "../dialect.ts";
import type { SitqSchema } from "../schema.ts";
import type { WriteProgram } from "../write_program.ts";
import { ClaimTasks } from "./claim_tasks.ts";
import { SettleAttempts } from "./settle_attempts.ts";

/** The worker's write, its statements compiled once for one Kysely instance. */
export class SettleAndClaim {
  readonly #settle: SettleAttempts;
  readonly #claim: ClaimTasks;

  /**
   * @param db The instance the statements are compiled for.
   * @param locking How the database keeps concurrent claims apart.
   */
  constructor(db: Kysely<SitqSchema>, locking: ClaimLocking) {
    this.#settle = new SettleAttempts(db);
    this.#claim = new ClaimTasks(db, locking);
  }

  /** Settles `settlements`, then claims as `claim` asks. */
  *run(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): WriteProgram<SettleAndClaimResult> {
    const applied = settlements.length === 0
      ? []
      : yield* this.#settle.run(settlements);
    if (claim === undefined || claim.limit <= 0) {
      return { applied, claimed: [] };
    }
    const claimed = yield* this.#claim.run(claim);
    // Only a short claim asks: a full one may leave due work behind.
    if (claimed.length === claim.limit) return { applied, claimed };
    const nextRunAt = yield* this.#claim.nextRunAt(claim);
    return nextRunAt === undefined
      ? { applied, claimed }
      : { applied, claimed, nextRunAt };
  }
}
