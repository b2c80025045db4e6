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
 * Limited queues (schema v8) are claimed first, within their limits
 * (`queue_claims.ts`), when the {@linkcode LimitedQueuesHint} says some
 * queue may be limited; the plain claim takes what is left of the batch
 * from every other queue. A full rate window's end joins `nextRunAt`.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type {
  ClaimRequest,
  SettleAndClaimResult,
  Settlement,
} from "../backend.ts";
import type { ClaimLocking, NextRunLookup } from "../dialect.ts";
import type { SitqSchema } from "../schema.ts";
import type { WriteProgram } from "../write_program.ts";
import { ClaimTasks } from "./claim_tasks.ts";
import { type LimitedQueuesHint, QueueClaims } from "./queue_claims.ts";
import { SettleAttempts } from "./settle_attempts.ts";

/** The worker's write, its statements compiled once for one Kysely instance. */
export class SettleAndClaim {
  readonly #settle: SettleAttempts;
  readonly #claim: ClaimTasks;
  readonly #limited: QueueClaims;
  readonly #hint: LimitedQueuesHint;

  /**
   * @param db The instance the statements are compiled for.
   * @param locking How the database keeps concurrent claims apart.
   * @param hint Whether some queue may be limited, shared with the backend.
   * @param nextRun How the next run time after a short claim is found.
   */
  constructor(
    db: Kysely<SitqSchema>,
    locking: ClaimLocking,
    hint: LimitedQueuesHint,
    nextRun: NextRunLookup,
  ) {
    this.#settle = new SettleAttempts(db);
    this.#claim = new ClaimTasks(db, locking, nextRun);
    this.#limited = new QueueClaims(db, locking, this.#claim);
    this.#hint = hint;
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
    if (!this.#hint.mustCheck()) {
      const claimed = yield* this.#claim.run(claim);
      // Only a short claim asks: a full one may leave due work behind.
      if (claimed.length === claim.limit) return { applied, claimed };
      const nextRunAt = yield* this.#claim.nextRunAt(claim);
      return nextRunAt === undefined
        ? { applied, claimed }
        : { applied, claimed, nextRunAt };
    }
    const limited = yield* this.#limited.run(claim, claim.limit);
    this.#hint.set(limited.limited);
    const rest = claim.limit - limited.claimed.length;
    const claimed = rest <= 0 ? limited.claimed : limited.claimed.concat(
      yield* this.#claim.run(
        rest === claim.limit ? claim : { ...claim, limit: rest },
      ),
    );
    // Queue order across queues, as one claim would hand them out.
    claimed.sort((a, b) =>
      b.priority - a.priority || a.runAt - b.runAt || a.id - b.id
    );
    if (claimed.length === claim.limit) return { applied, claimed };
    const next = yield* this.#claim.nextRunAt(claim);
    const nextRunAt = next === undefined
      ? limited.wakeAt
      : limited.wakeAt === undefined
      ? next
      : Math.min(next, limited.wakeAt);
    return nextRunAt === undefined
      ? { applied, claimed }
      : { applied, claimed, nextRunAt };
  }
}
