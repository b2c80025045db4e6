/**
 * The schedule methods of the SQL backend (schema v10), kept apart from
 * `sql_backend.ts`, which delegates to one {@linkcode ScheduleStore}: each
 * maps to its statements in `queries/schedules.ts`, run through the open
 * database; a firing's tasks go through the backend's keyed insert.
 *
 * Every write that changes a schedule announces a `schedules` change:
 * this process's schedulers hear it at once, other processes' through the
 * change feed (on PostgreSQL a NOTIFY sent with the commit), so a
 * schedule set anywhere is picked up within the workers' wake-up time.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { BackendChange } from "./backend.ts";
import {
  advanceSchedule,
  getSchedule,
  listSchedules,
  pauseSchedule,
  removeSchedule,
  saveSchedule,
} from "./queries/schedules.ts";
import type { InsertRows } from "./queries/insert_rows.ts";
import type {
  ScheduleFired,
  ScheduleFiring,
  ScheduleRow,
  ScheduleSaved,
  ScheduleWrite,
} from "./schedule_rows.ts";
import type { SitqSchema } from "./schema.ts";
import type { SqlSession } from "./sql_session.ts";
import { runProgram } from "./write_program.ts";

const SCHEDULES_CHANGED: readonly BackendChange[] = [{ type: "schedules" }];

/** The SQL backend's schedule methods; see the module doc. */
export class ScheduleStore {
  readonly #session: SqlSession;
  readonly #insertFor: (db: Kysely<SitqSchema>) => InsertRows;

  /**
   * @param session The backend's open database.
   * @param insertFor The backend's insert, compiled for a database.
   */
  constructor(
    session: SqlSession,
    insertFor: (db: Kysely<SitqSchema>) => InsertRows,
  ) {
    this.#session = session;
    this.#insertFor = insertFor;
  }

  /** See `Backend.saveSchedule`. */
  save(schedule: ScheduleWrite): Promise<ScheduleSaved> {
    return this.#session.writeWith(
      (trx) => saveSchedule(trx, schedule),
      { changes: (saved) => (saved.changed ? SCHEDULES_CHANGED : []) },
    );
  }

  /** See `Backend.listSchedules`. */
  list(): Promise<ScheduleRow[]> {
    return this.#session.read(listSchedules);
  }

  /** See `Backend.getSchedule`. */
  get(name: string): Promise<ScheduleRow | undefined> {
    return this.#session.read((db) => getSchedule(db, name));
  }

  /** See `Backend.pauseSchedule`. */
  async pause(
    name: string,
    paused: boolean,
    nextRunAt: number | null,
    now: number,
  ): Promise<ScheduleRow | undefined> {
    const { row } = await this.#session.writeWith(
      (trx) => pauseSchedule(trx, name, paused, nextRunAt, now),
      { changes: ({ changed }) => (changed ? SCHEDULES_CHANGED : []) },
    );
    return row;
  }

  /** See `Backend.removeSchedule`. */
  remove(name: string): Promise<boolean> {
    return this.#session.writeWith(
      (trx) => removeSchedule(trx, name),
      { changes: (removed) => (removed ? SCHEDULES_CHANGED : []) },
    );
  }

  /** See `Backend.fireSchedule`. */
  fire(firing: ScheduleFiring): Promise<ScheduleFired | undefined> {
    let runAt = Infinity;
    for (const task of firing.tasks) runAt = Math.min(runAt, task.runAt);
    return this.#session.writeWith(
      async (trx, db) => {
        if (!(await advanceSchedule(trx, firing))) return undefined;
        const outcomes = firing.tasks.length === 0
          ? []
          : await runProgram(this.#insertFor(db).outcomes(firing.tasks), trx);
        return { outcomes };
      },
      {
        // The slot moved: other processes' schedulers re-read it; a task
        // created wakes the workers.
        changes: (fired) =>
          fired === undefined ? [] : [
            ...SCHEDULES_CHANGED,
            ...(fired.outcomes.some((outcome) => outcome.created)
              ? [{ type: "enqueued" as const, runAt }]
              : []),
          ],
      },
    );
  }
}
