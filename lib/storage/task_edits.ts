/**
 * The SQL backend's changes to one task, kept out of `sql_backend.ts`,
 * which delegates to one {@linkcode TaskEdits}: cancel (with the tasks
 * that depend on it), requeue (with the key and dependency checks) and
 * prune. The bulk forms, by filter, are `task_control.ts`.
 *
 * @module
 */
import { isFinalStatus } from "../core/statuses.ts";
import type { TaskStatus } from "../core/types.ts";
import type { TransitionResult } from "./backend.ts";
import { selectTask } from "./queries/inspect_tasks.ts";
import { cancelTask, pruneTasks } from "./queries/manage_tasks.ts";
import {
  isKeyConflict,
  otherKeyHolder,
  requeueKeyed,
} from "./queries/requeue_keyed.ts";
import type { SqlParts } from "./sql_statements.ts";
import {
  afterCancel,
  afterRequeue,
  requeueBlockedBy,
} from "./workflow_writes.ts";

/** The SQL backend's single-task changes; see the module doc. */
export class TaskEdits {
  readonly #parts: SqlParts;

  /** @param parts The session and statements it runs. */
  constructor(parts: SqlParts) {
    this.#parts = parts;
  }

  /** See `Backend.cancel`. */
  async cancel(id: number, now: number): Promise<TransitionResult> {
    const { session, statements } = this.#parts;
    const { result } = await session.writeWith(
      (trx, db) =>
        afterCancel(
          cancelTask(trx, id, now),
          trx,
          statements.dependentsFor(db),
          {
            id,
            now,
          },
        ),
      {
        changes: ({ result, cancelled, released }) =>
          result.changed
            ? [
              { type: "settled", ids: [id, ...cancelled] },
              ...(released > 0
                ? [{ type: "enqueued" as const, runAt: now }]
                : []),
            ]
            : [],
      },
    );
    return result;
  }

  /** See `Backend.requeue`. */
  async requeue(id: number, now: number): Promise<TransitionResult> {
    const { session, statements } = this.#parts;
    try {
      return await session.writeWith(
        async (trx, db) => {
          const blockedBy = await requeueBlockedBy(trx, id);
          if (blockedBy !== undefined) {
            return {
              changed: false,
              row: await selectTask(trx, id),
              blockedBy,
            };
          }
          const result = await requeueKeyed(
            trx,
            statements.insertFor(db).holders,
            id,
            now,
          );
          return result.changed
            ? await afterRequeue(trx, statements.dependentsFor(db), id)
            : result;
        },
        {
          changes: (result) =>
            result.changed ? [{ type: "enqueued", runAt: now }] : [],
        },
      );
    } catch (error) {
      // PostgreSQL: another transaction took the task's key between the
      // check and the update, and the index refused a second holder.
      if (!isKeyConflict(error)) throw error;
      return await session.read(async (db) => {
        const heldBy = await otherKeyHolder(
          db,
          statements.insertFor(db).holders,
          id,
        );
        if (heldBy === undefined) throw error;
        return { changed: false, row: await selectTask(db, id), heldBy };
      });
    }
  }

  /** See `Backend.prune`. */
  async prune(
    statuses: readonly TaskStatus[],
    before: number,
  ): Promise<number> {
    const final = statuses.filter(isFinalStatus);
    // Only final statuses are pruned: with none, there is nothing to write.
    if (final.length === 0) return 0;
    return await this.#parts.session.writeWith((trx) =>
      pruneTasks(trx, final, before)
    );
  }
}
