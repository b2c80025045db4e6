/**
 * Builds the helper objects `SqlBackend` (`sql_backend.ts`) composes, one
 * per concern, on one open database and one set of compiled statements:
 * inserts, the worker step, single-task changes, bulk operations and
 * event subscribers, schedules and the user's transactions.
 *
 * @module
 */
import type { SqlDialect } from "./dialect.ts";
import { SQLITE_EVENT_SWITCH } from "./events_schema.ts";
import { ScheduleStore } from "./schedule_store.ts";
import { SqlSession } from "./sql_session.ts";
import { type SqlParts, SqlStatements } from "./sql_statements.ts";
import { TaskControl } from "./task_control.ts";
import { TaskEdits } from "./task_edits.ts";
import { TaskWrites } from "./task_writes.ts";
import { UserTransactions } from "./user_transactions.ts";
import { WorkerWrites } from "./worker_writes.ts";

/** The helper objects of one SQL backend. */
export interface SqlHelpers extends SqlParts {
  /** The user's transactions (`user_transactions.ts`). */
  readonly transactions: UserTransactions;
  /** Inserts (`task_writes.ts`). */
  readonly writes: TaskWrites;
  /** The worker step, leases, the worker registry (`worker_writes.ts`). */
  readonly workers: WorkerWrites;
  /** Cancel, requeue and prune of one task (`task_edits.ts`). */
  readonly edits: TaskEdits;
  /** Bulk operations and event subscribers (`task_control.ts`). */
  readonly control: TaskControl;
  /** Schedules (`schedule_store.ts`). */
  readonly schedules: ScheduleStore;
}

/**
 * Creates a backend's helpers on a dialect.
 *
 * @param dialect What the database supplies.
 * @param changePollInterval `SqlBackendOptions.changePollInterval`.
 */
export function sqlHelpers(
  dialect: SqlDialect,
  changePollInterval: number | undefined,
): SqlHelpers {
  const session = new SqlSession(dialect, changePollInterval);
  const statements = new SqlStatements(dialect);
  const parts: SqlParts = { session, dialect, statements };
  const control = new TaskControl({
    session,
    dependents: (db) => statements.dependentsFor(db),
    holders: (db) => statements.insertFor(db).holders,
    events: {
      order: dialect.eventOrder ?? "id",
      triggers: dialect.eventTriggers ?? SQLITE_EVENT_SWITCH,
    },
  });
  const transactions = new UserTransactions(
    session,
    dialect,
    (db) => statements.insertFor(db),
    (db) => statements.graphFor(db),
  );
  return {
    ...parts,
    transactions,
    control,
    schedules: new ScheduleStore(session, (db) => statements.insertFor(db)),
    writes: new TaskWrites(parts, transactions),
    workers: new WorkerWrites(parts, control),
    edits: new TaskEdits(parts),
  };
}
