/**
 * Schema version 9: task events for subscribers in any process
 * (`queue.subscribe()`), on both databases.
 *
 * - `sitq_subscribers`: one row per live subscription, with its cursor and
 *   a heartbeat; `expires_at` (epoch ms) is when the row counts as dead (a
 *   killed process), and any subscriber's heartbeat sweeps such rows.
 * - `sitq_events`: one row per task event, written **only while a live
 *   subscriber row exists**. Triggers on `sitq_tasks` write them, inside the
 *   transaction that changes the task, so every write path (plain, keyed,
 *   bulk, workflow and in-transaction inserts, claims, progress, both settle
 *   paths, lease recovery, cancels and requeues) is covered without a line in
 *   any of them, and a subscriber registered before a write always gets its
 *   event. The triggers are on only while a subscriber row exists (SQLite:
 *   created with the first and dropped with the last; PostgreSQL: enabled
 *   and disabled), switched in the registry's own transactions
 *   ({@linkcode EventTriggerSwitch}), so without a subscriber a write pays
 *   nothing. Each still checks for a live row when it fires (a killed
 *   subscriber's row expires), so a dead row costs calls but writes no
 *   events until it is swept (by any subscriber's or worker's heartbeat).
 *
 * Which event a change is (both databases decide alike):
 * - insert: `enqueued` (and `cancelled` too for a workflow step inserted
 *   cancelled because a parent had already failed);
 * - an update naming `status` or `progress`: `started` (not running, or a
 *   new attempt, to running), `progress` (running to running, same attempt:
 *   only a progress write does that), `retrying` (running to queued: a retry,
 *   an interrupted stop or a recovered lease), `completed` / `failed` /
 *   `cancelled` (entering that status), `enqueued` (a finished task put back
 *   in the queue by a requeue). A `waiting` step released to `queued` is no
 *   event: its `enqueued` was written when it was inserted.
 *
 * Order: SQLite has one writer at a time, so `id` order is commit order and
 * a subscriber reads `id > cursor`. PostgreSQL hands out identity values
 * before commit, so a later id can commit first; each event also records
 * its writing transaction (`tx`, `pg_current_xact_id()`), and a subscriber
 * reads the events of transactions older than the oldest one still running
 * (`pg_snapshot_xmin`), which can no longer gain events, in windows of `tx`
 * that never overlap: each event is read once (see `queries/events.ts`).
 *
 * Frozen once released, like every migration.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type { SitqSchema } from "./schema.ts";

/** `sitq_subscribers` (schema v9): one row per live event subscription. */
export interface SubscribersTable {
  /** The subscription's id (random). */
  subscriber_id: string;
  /**
   * How far it has read: SQLite, the last event id delivered; PostgreSQL,
   * the first transaction id it has not read yet.
   */
  cursor: number;
  /** Epoch ms when it registered. */
  started_at: number;
  /** Epoch ms of its last heartbeat. */
  heartbeat_at: number;
  /** Epoch ms after which the row counts as dead (and events stop). */
  expires_at: number;
}

/** `sitq_events` (schema v9): one row per task event. */
export interface EventsTable {
  /** The event's sequence number. */
  id: import("kysely").Generated<number>;
  /** PostgreSQL: the writing transaction's id; SQLite: 0. */
  tx: import("kysely").Generated<number>;
  /** `TaskEventType`. */
  type: string;
  task_id: number;
  name: string;
  queue: string;
  attempt: number;
  /** Epoch ms by the database's clock. */
  at: number;
  /** The serialized progress, for `progress` events. */
  progress: string | null;
  /** The JSON StoredError, for `retrying` and `failed` events. */
  error: string | null;
}

/** The event type of an update, as an SQL `case` over `OLD` and `NEW`. */
const UPDATE_TYPE = `case
    when NEW.status = 'running' and (OLD.status <> 'running' or OLD.attempts <> NEW.attempts) then 'started'
    when NEW.status = 'running' and OLD.status = 'running' then 'progress'
    when OLD.status = 'running' and NEW.status = 'queued' then 'retrying'
    when NEW.status = OLD.status then null
    when NEW.status in ('completed', 'failed', 'cancelled') then NEW.status
    when NEW.status in ('queued', 'waiting') and OLD.status in ('completed', 'failed', 'cancelled') then 'enqueued'
  end`;

/** SQLite: epoch ms now, by the database's clock. */
const SQLITE_NOW = `cast((julianday('now') - 2440587.5) * 86400000 as integer)`;

/** The event's columns from `NEW` and a type expression `t.type`. */
const EVENT_COLUMNS =
  "type, task_id, name, queue, attempt, at, progress, error";

/**
 * Creates the tables on SQLite. Its triggers are not part of the schema:
 * they exist only while some subscriber is registered (see
 * {@linkcode SQLITE_EVENT_TRIGGERS}).
 */
export async function migrateEventsSqlite(
  db: Kysely<SitqSchema>,
): Promise<void> {
  await createTables(db, "integer");
}

/** SQLite: the event row of a `NEW` task row and an event type expression. */
const sqliteValues = (type: string) =>
  `select ${type}, NEW.id, NEW.name, NEW.queue, NEW.attempts, ${SQLITE_NOW},
      case when ${type} = 'progress' then NEW.progress end,
      case when ${type} in ('retrying', 'failed') then NEW.error end`;

/** SQLite: whether a live subscriber row exists now. */
const SQLITE_LIVE =
  `exists (select 1 from sitq_subscribers where expires_at > ${SQLITE_NOW})`;

/**
 * SQLite's event triggers, created (`if not exists`) in the transaction that
 * registers a subscriber and dropped in the one that removes the last
 * subscriber row. A trigger costs every task write a call of its program
 * even when its condition is false (measured: about 1.5 µs a row, some 5%
 * of a plain drain), so they exist only while subscribed; SQLite changes
 * its schema cheaply inside its one write transaction at a time, and every
 * later statement on every connection sees the change. Each still checks
 * for a live row (a killed subscriber's expires), so a dead row costs no
 * event rows, only the calls, until someone sweeps it.
 */
export const SQLITE_EVENT_TRIGGERS: readonly string[] = [
  `create trigger if not exists sitq_events_on_insert
    after insert on sitq_tasks
    begin
      insert into sitq_events (${EVENT_COLUMNS})
        ${sqliteValues("'enqueued'")} where ${SQLITE_LIVE};
      insert into sitq_events (${EVENT_COLUMNS})
        ${
    sqliteValues("'cancelled'")
  } where NEW.status = 'cancelled' and ${SQLITE_LIVE};
    end`,
  `create trigger if not exists sitq_events_on_update
    after update of status, progress on sitq_tasks
    begin
      insert into sitq_events (${EVENT_COLUMNS})
        select e.type, NEW.id, NEW.name, NEW.queue, NEW.attempts, ${SQLITE_NOW},
          case when e.type = 'progress' then NEW.progress end,
          case when e.type in ('retrying', 'failed') then NEW.error end
        from (select ${UPDATE_TYPE} as type) e
        where e.type is not null and ${SQLITE_LIVE};
    end`,
];

/** SQLite's switch: creates and drops {@linkcode SQLITE_EVENT_TRIGGERS}. */
export const SQLITE_EVENT_SWITCH: EventTriggerSwitch = {
  enable: SQLITE_EVENT_TRIGGERS,
  disable: [
    "drop trigger if exists sitq_events_on_insert",
    "drop trigger if exists sitq_events_on_update",
  ],
};

/**
 * Creates the tables, PostgreSQL's trigger functions and triggers in
 * `schema` (functions name their tables with it: the connections'
 * `search_path` is not sitq's to rely on).
 */
export async function migrateEventsPostgres(
  db: Kysely<SitqSchema>,
  schema: string,
): Promise<void> {
  await createTables(db, "bigint");
  const q = `"${schema}"`;
  // The channel the dialect LISTENs on (postgres_dialect.ts), at most 63
  // bytes; a payload without an origin is another's to every listener.
  const channel = `sitq_${schema}`.slice(0, 63);
  const queue = "NEW.queue";
  const now = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  const insertEvent = (type: string) =>
    `insert into ${q}.sitq_events (tx, ${EVENT_COLUMNS})
      values (pg_current_xact_id()::text::bigint, ${type}, NEW.id, NEW.name, ${queue},
        NEW.attempts, ${now},
        case when ${type} = 'progress' then NEW.progress end,
        case when ${type} in ('retrying', 'failed') then NEW.error end);`;
  await sql.raw(`create function ${q}.sitq_task_event() returns trigger
    language plpgsql as $$
    declare
      kind text;
    begin
      if TG_OP = 'INSERT' then
        kind := 'enqueued';
      else
        kind := ${UPDATE_TYPE};
      end if;
      if kind is null then return null; end if;
      if not exists (select 1 from ${q}.sitq_subscribers where expires_at > ${now}) then
        return null;
      end if;
      ${insertEvent("kind")}
      if TG_OP = 'INSERT' and NEW.status = 'cancelled' then
        ${insertEvent("'cancelled'")}
      end if;
      -- Wakes subscribers in every process, as the writes' own notifications
      -- do (delivered at commit, once per transaction: equal ones merge).
      -- Claims and progress send none of their own.
      perform pg_notify(${sqlString(channel)}, '{"changes":["event"]}');
      return null;
    end $$`).execute(db);
  // `update of status, progress`: lease renewals (which set neither) never
  // call the function.
  await sql.raw(`create trigger sitq_events_on_write
    after insert or update of status, progress on ${q}.sitq_tasks
    for each row execute function ${q}.sitq_task_event()`).execute(db);
  // Off until a subscriber registers (see postgresEventSwitch). The switch
  // runs as the tables' owner, so any role that may write tasks may
  // subscribe; it touches nothing but this trigger.
  await sql.raw(
    `alter table ${q}.sitq_tasks disable trigger sitq_events_on_write`,
  )
    .execute(db);
  await sql.raw(`create function ${q}.sitq_switch_events(enabled boolean)
    returns void language plpgsql security definer
    set search_path = pg_catalog as $$
    begin
      if enabled then
        alter table ${q}.sitq_tasks enable trigger sitq_events_on_write;
      else
        alter table ${q}.sitq_tasks disable trigger sitq_events_on_write;
      end if;
    end $$`).execute(db);
}

/**
 * How the event triggers follow the registry of subscribers: `lock` first
 * in every transaction that may switch them (so two registry changes never
 * both decide from a stale count), `enable` in the one that registers a
 * subscriber, `disable` in the one that leaves no subscriber row.
 */
export interface EventTriggerSwitch {
  /** Serializes registry changes; none where writers are serialized anyway. */
  lock?: string;
  /** Turns the triggers on (idempotent). */
  enable: readonly string[];
  /** Turns them off (idempotent). */
  disable: readonly string[];
}

/**
 * PostgreSQL's switch for `schema`: the trigger exists from the migration
 * on, disabled, and `sitq_switch_events` (security definer) enables it.
 * Without a subscriber a write pays nothing (measured with the trigger on
 * and no subscriber row: 5 to 20 µs a changed row, from the call of a
 * plpgsql function; off: nothing). Enabling takes a lock on `sitq_tasks`
 * that waits for the writes in progress and holds new ones until the
 * registering transaction commits: a short pause for writers, once per
 * first subscriber.
 */
export function postgresEventSwitch(schema: string): EventTriggerSwitch {
  const q = `"${schema}"`;
  return {
    lock: `lock table ${q}.sitq_subscribers in exclusive mode`,
    enable: [`select ${q}.sitq_switch_events(true)`],
    disable: [`select ${q}.sitq_switch_events(false)`],
  };
}

async function createTables(
  db: Kysely<SitqSchema>,
  timeType: "integer" | "bigint",
): Promise<void> {
  await db.schema.createTable("sitq_subscribers")
    .addColumn("subscriber_id", "text", (c) => c.primaryKey())
    .addColumn("cursor", timeType, (c) => c.notNull())
    .addColumn("started_at", timeType, (c) => c.notNull())
    .addColumn("heartbeat_at", timeType, (c) => c.notNull())
    .addColumn("expires_at", timeType, (c) => c.notNull())
    .execute();
  let events = db.schema.createTable("sitq_events");
  events = timeType === "integer"
    // AUTOINCREMENT: ids are never reused once events are deleted, so a
    // cursor stays valid.
    ? events.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    : events.addColumn(
      "id",
      "bigint",
      (c) => c.primaryKey().generatedAlwaysAsIdentity(),
    );
  await events
    .addColumn("tx", timeType, (c) => c.notNull().defaultTo(0))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("task_id", timeType, (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("queue", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("at", timeType, (c) => c.notNull())
    .addColumn("progress", "text")
    .addColumn("error", "text")
    .execute();
  if (timeType === "bigint") {
    await db.schema.createIndex("sitq_events_tx").on("sitq_events")
      .columns(["tx", "id"]).execute();
  }
}

/** `text` as an SQL string literal. */
function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
