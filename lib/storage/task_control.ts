/**
 * The SQL backend's bulk operations and event registry, kept out of
 * `sql_backend.ts`, which delegates to one {@linkcode TaskControl}: bulk
 * cancel, requeue and delete by filter (each one transaction), the check a
 * worker makes for cancelled tasks, and the subscribers of task events.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type {
  BackendChange,
  EventPage,
  SubscriberBeat,
  SubscriberRow,
  TaskFilterQuery,
} from "./backend.ts";
import * as events from "./queries/events.ts";
import type { KeyHolders } from "./queries/key_holders.ts";
import {
  cancelIds,
  cancelledAmong,
  deleteWhere,
  selectFiltered,
} from "./queries/manage_tasks.ts";
import type { Dependents } from "./queries/release_dependents.ts";
import { isKeyConflict, requeueKeyed } from "./queries/requeue_keyed.ts";
import type { SitqSchema } from "./schema.ts";
import type { SqlSession } from "./sql_session.ts";
import { runProgram } from "./write_program.ts";
import { afterRequeue, requeueBlockedBy } from "./workflow_writes.ts";

/** What the control needs from the backend around it. */
export interface TaskControlParts {
  session: SqlSession;
  /** The dependency statements compiled for `db`. */
  dependents(db: Kysely<SitqSchema>): Dependents;
  /** The key-holder statements compiled for `db`. */
  holders(db: Kysely<SitqSchema>): KeyHolders;
  /** How the dialect orders events and switches their triggers. */
  events: events.EventSetup;
}

/** Bulk operations and event subscribers on one SQL backend. */
export class TaskControl {
  readonly #parts: TaskControlParts;

  /** @param parts The session and statements it runs. */
  constructor(parts: TaskControlParts) {
    this.#parts = parts;
  }

  /**
   * Cancels what `filter` selects among waiting, queued and running tasks,
   * with their dependents; returns how many it cancelled.
   */
  async cancelTasks(filter: TaskFilterQuery, now: number): Promise<number> {
    const { session } = this.#parts;
    const { cancelled } = await session.writeWith(
      async (trx, db) => {
        const ids = await cancelIds(
          trx,
          await selectFiltered(trx, filter),
          now,
        );
        if (ids.length === 0) {
          return { cancelled: ids, cascade: [], released: 0 };
        }
        const outcome = await runProgram(
          this.#parts.dependents(db).afterEnded(ids, now),
          trx,
        );
        return {
          cancelled: ids,
          cascade: outcome.cancelled,
          released: outcome.released,
        };
      },
      {
        changes: ({ cancelled, cascade, released }): BackendChange[] =>
          cancelled.length === 0 ? [] : [
            { type: "settled", ids: [...cancelled, ...cascade] },
            ...(released > 0
              ? [{ type: "enqueued" as const, runAt: now }]
              : []),
          ],
      },
    );
    return cancelled.length;
  }

  /**
   * Requeues what `filter` selects among failed and cancelled tasks, each
   * as a single requeue does, skipping those it would refuse; returns how
   * many it requeued.
   */
  async requeueTasks(filter: TaskFilterQuery, now: number): Promise<number> {
    const write = () =>
      this.#parts.session.writeWith(
        async (trx, db) => {
          let count = 0;
          // Ascending ids: a workflow's parents before their steps, so a
          // step its parent's requeue brings back is not counted twice.
          for (const id of await selectFiltered(trx, filter)) {
            if ((await requeueBlockedBy(trx, id)) !== undefined) continue;
            const result = await requeueKeyed(
              trx,
              this.#parts.holders(db),
              id,
              now,
            );
            if (!result.changed) continue;
            await afterRequeue(trx, this.#parts.dependents(db), id);
            count++;
          }
          return count;
        },
        {
          changes: (count): BackendChange[] =>
            count === 0 ? [] : [{ type: "enqueued", runAt: now }],
        },
      );
    try {
      return await write();
    } catch (error) {
      // PostgreSQL: another transaction took a task's key between the check
      // and the update. Once more: the check now sees that holder.
      if (!isKeyConflict(error)) throw error;
      return await write();
    }
  }

  /** Deletes the finished tasks `filter` selects; returns how many. */
  deleteTasks(filter: TaskFilterQuery): Promise<number> {
    return this.#parts.session.writeWith((trx) => deleteWhere(trx, filter));
  }

  /** The tasks among `ids` that are cancelled now. */
  cancelledAmong(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.#parts.session.read((db) => cancelledAmong(db, ids));
  }

  /** Registers an event subscriber; returns its starting cursor. */
  registerSubscriber(row: SubscriberRow): Promise<number> {
    return this.#parts.session.writeWith(
      (trx) => events.registerSubscriber(trx, row, this.#parts.events),
    );
  }

  /** Refreshes a subscriber and cleans up; false when its row is gone. */
  heartbeatSubscriber(beat: SubscriberBeat): Promise<boolean> {
    return this.#parts.session.writeWith(
      (trx) => events.heartbeatSubscriber(trx, beat, this.#parts.events),
      { durable: false },
    );
  }

  /** Deletes a subscriber's row. */
  async removeSubscriber(id: string, now: number): Promise<void> {
    await this.#parts.session.writeWith(
      (trx) => events.removeSubscriber(trx, id, now, this.#parts.events),
      { durable: false },
    );
  }

  /**
   * Sweeps dead subscriber rows in the caller's transaction (a worker's
   * heartbeat does, so that a killed last subscriber does not leave SQLite's
   * triggers behind for long).
   */
  sweepSubscribers(trx: Kysely<SitqSchema>, now: number): Promise<void> {
    return events.sweepDead(trx, now, this.#parts.events);
  }

  /** The events after `cursor`. */
  readEvents(cursor: number, limit: number): Promise<EventPage> {
    return this.#parts.session.read((db) =>
      events.readEvents(db, cursor, limit, this.#parts.events.order)
    );
  }
}
