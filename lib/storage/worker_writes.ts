/**
 * What the SQL backend does for workers, kept out of `sql_backend.ts`,
 * which delegates to one {@linkcode WorkerWrites}: the worker step
 * (settle finished attempts and claim new tasks, in the dialect's one
 * round trip when it has one), leases (renewal, recovery), progress, and
 * the registry of running workers.
 *
 * @module
 */
import type {
  ClaimRequest,
  FencingToken,
  SettleAndClaimResult,
  Settlement,
  WorkerRow,
} from "./backend.ts";
import {
  anyExpiredLease,
  recoverExpiredLeases,
} from "./queries/recover_leases.ts";
import { renewLeases } from "./queries/renew_leases.ts";
import { saveProgress } from "./queries/save_progress.ts";
import * as workers from "./queries/workers.ts";
import type { SqlParts } from "./sql_statements.ts";
import type { TaskControl } from "./task_control.ts";
import { runProgram } from "./write_program.ts";
import {
  type SettledWithDependents,
  settleThenRelease,
} from "./workflow_writes.ts";

/** The SQL backend's worker methods; see the module doc. */
export class WorkerWrites {
  readonly #parts: SqlParts;
  readonly #control: TaskControl;

  /**
   * @param parts The session, dialect and statements it runs.
   * @param control The event subscribers, swept with worker heartbeats.
   */
  constructor(parts: SqlParts, control: TaskControl) {
    this.#parts = parts;
    this.#control = control;
  }

  /** See `Backend.settleAndClaim`. */
  async settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): Promise<SettleAndClaimResult> {
    const { session, dialect, statements } = this.#parts;
    const limits = statements.limits;
    const alone = dialect.settleAndClaimAlone;
    // Limited queues are claimed in the generic transaction only.
    if (alone !== undefined && !limits.mustCheck()) {
      // The dialect's one-round-trip form; undefined: nothing written, the
      // transaction below must do it (dependents to release).
      const done = await session.read(() =>
        alone.call(dialect, settlements, claim)
      );
      if (done !== undefined) {
        if (done.limitedQueues !== undefined) {
          limits.set(done.limitedQueues);
        }
        if (settlements.length > 0) {
          session.emit({
            type: "settled",
            ids: settlements.map((settlement) => settlement.id),
          });
        }
        return done;
      }
    }
    const { result } = await session.write(
      (db) =>
        settleThenRelease(
          statements.settleAndClaimFor(db).run(settlements, claim),
          settlements,
          statements.dependentsFor(db),
        ),
      {
        durable: settlements.length > 0,
        changes: (written: SettledWithDependents) =>
          settlements.length === 0 ? [] : [
            {
              type: "settled",
              ids: [
                ...settlements.map((settlement) => settlement.id),
                ...written.cancelled,
              ],
            },
            ...(written.result.releasedRunAt === undefined ? [] : [{
              type: "enqueued" as const,
              runAt: written.result.releasedRunAt,
            }]),
            // A limited queue may have room now: wake this process's
            // workers that found it full.
            ...(limits.limited
              ? [{ type: "enqueued" as const, runAt: 0 }]
              : []),
          ],
      },
    );
    return result;
  }

  /** See `Backend.renewLeases`. */
  async renewLeases(
    tokens: readonly FencingToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>> {
    if (tokens.length === 0) return new Set();
    return await this.#parts.session.writeWith(
      (trx) => renewLeases(trx, tokens, leaseExpiresAt),
      { durable: false },
    );
  }

  /** See `Backend.recoverExpiredLeases`. */
  async recoverExpiredLeases(now: number, error: string): Promise<number[]> {
    const { session, statements } = this.#parts;
    // Nearly every call finds nothing: a read says so without a write
    // transaction. A lease expiring just after it is found by the next call.
    if (!(await session.read((db) => anyExpiredLease(db, now)))) {
      return [];
    }
    return await session.writeWith(
      async (trx, db) => {
        const recovered = await recoverExpiredLeases(trx, now, error);
        // Those that failed for good end their dependents' wait.
        await runProgram(
          statements.dependentsFor(db).afterEnded(recovered, now),
          trx,
        );
        return recovered;
      },
      {
        changes: (recovered) =>
          recovered.length === 0 ? [] : [
            { type: "settled", ids: recovered },
            { type: "enqueued", runAt: now },
          ],
      },
    );
  }

  /** See `Backend.saveProgress`. */
  async saveProgress(token: FencingToken, progress: string): Promise<boolean> {
    return await this.#parts.session.writeWith(
      (trx) => saveProgress(trx, token, progress),
      { durable: false },
    );
  }

  /** See `Backend.registerWorker`. */
  async registerWorker(worker: WorkerRow): Promise<void> {
    await this.#parts.session.writeWith(
      (trx) => workers.registerWorker(trx, worker),
      { durable: false },
    );
  }

  /** See `Backend.heartbeatWorker`. */
  heartbeatWorker(workerId: string, now: number): Promise<boolean> {
    return this.#parts.session.writeWith(
      async (trx) => {
        const found = await workers.heartbeatWorker(trx, workerId, now);
        // Dead event subscribers (killed processes) go too (schema v9).
        await this.#control.sweepSubscribers(trx, now);
        return found;
      },
      { durable: false },
    );
  }

  /** See `Backend.removeWorker`. */
  async removeWorker(workerId: string): Promise<void> {
    await this.#parts.session.writeWith(
      (trx) => workers.removeWorker(trx, workerId),
      { durable: false },
    );
  }

  /** See `Backend.listWorkers`. */
  listWorkers(now: number, staleAfter: number): Promise<WorkerRow[]> {
    return this.#parts.session.read((db) =>
      workers.listWorkers(db, now, staleAfter)
    );
  }
}
