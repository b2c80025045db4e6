/**
 * Events: the registry of subscribers and the reads of `sitq_events`
 * (schema v9; what writes the events and why the two orders differ is in
 * `events_schema.ts`).
 *
 * - Register. Parameters: the subscriber's row without its cursor. Writes
 *   the row with the cursor "now" (SQLite: the newest event id; PostgreSQL:
 *   the oldest transaction still running, whose events a subscriber
 *   registered while it runs must still get), sweeps dead rows, and turns
 *   the event triggers on.
 * - Remove. Deletes the row (and dead ones); the event triggers go off
 *   with the last row (`events_schema.ts`).
 * - Heartbeat. Parameters: id, cursor, now, expiry, retention. Refreshes
 *   the row (false when it is gone: swept while the process was frozen),
 *   sweeps dead rows, and deletes the events every live subscriber has
 *   read, and those older than the retention.
 * - Read. Parameters: the cursor. SQLite: `id > cursor`, in id order, at
 *   most `limit`. PostgreSQL: the window `cursor <= tx < horizon` (the
 *   oldest transaction still running), in id order, whole.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import type {
  EventPage,
  EventRow,
  SubscriberBeat,
  SubscriberRow,
} from "../backend.ts";
import type { EventTriggerSwitch } from "../events_schema.ts";
import type { SitqSchema } from "../schema.ts";

/** How a dialect orders events; see `events_schema.ts`. */
export type EventOrder = "id" | "transaction";

/** What the registry needs to know of the dialect. */
export interface EventSetup {
  /** How events are ordered and read. */
  order: EventOrder;
  /** How the event triggers are switched on and off. */
  triggers: EventTriggerSwitch;
}

/** Runs raw statements in `trx`. */
async function runAll(
  trx: Kysely<SitqSchema>,
  statements: readonly string[],
): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(trx);
}

/** Takes the registry's lock, where the dialect has one. */
async function lockRegistry(
  trx: Kysely<SitqSchema>,
  setup: EventSetup,
): Promise<void> {
  const lock = setup.triggers.lock;
  if (lock !== undefined) await sql.raw(lock).execute(trx);
}

/** The cursor a subscriber registering now starts from. */
async function startCursor(
  trx: Kysely<SitqSchema>,
  order: EventOrder,
): Promise<number> {
  if (order === "transaction") return await horizon(trx);
  const row = await trx.selectFrom("sitq_events")
    .select((eb) => eb.fn.max("id").as("last")).executeTakeFirst();
  return Number(row?.last ?? 0);
}

/**
 * PostgreSQL: the oldest transaction id still running (or the next one):
 * every transaction below it has ended, so its events are all there.
 */
async function horizon(db: Kysely<SitqSchema>): Promise<number> {
  const { rows } = await sql<{ horizon: string | number }>`select
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon`
    .execute(db);
  return Number(rows[0]!.horizon);
}

/**
 * Writes a subscriber's row and turns the event triggers on; returns its
 * starting cursor. The registry's lock comes first, before any row lock,
 * in every transaction that may switch the triggers: two of them never
 * deadlock, nor decide from a count the other is changing.
 */
export async function registerSubscriber(
  trx: Kysely<SitqSchema>,
  row: SubscriberRow,
  setup: EventSetup,
): Promise<number> {
  await lockRegistry(trx, setup);
  await trx.deleteFrom("sitq_subscribers")
    .where("expires_at", "<=", row.startedAt).execute();
  const cursor = await startCursor(trx, setup.order);
  await trx.insertInto("sitq_subscribers").values({
    subscriber_id: row.id,
    cursor,
    started_at: row.startedAt,
    heartbeat_at: row.startedAt,
    expires_at: row.expiresAt,
  }).execute();
  await runAll(trx, setup.triggers.enable);
  return cursor;
}

/**
 * Deletes the rows of subscribers dead at `now` (killed processes), if
 * any, and turns the triggers off when no row is left. Nearly always a
 * read that finds none; call it before any other registry write of the
 * transaction (see {@linkcode registerSubscriber}).
 */
export async function sweepDead(
  trx: Kysely<SitqSchema>,
  now: number,
  setup: EventSetup,
): Promise<void> {
  const dead = await trx.selectFrom("sitq_subscribers").select("subscriber_id")
    .where("expires_at", "<=", now).limit(1).executeTakeFirst();
  if (dead === undefined) return;
  await lockRegistry(trx, setup);
  await trx.deleteFrom("sitq_subscribers").where("expires_at", "<=", now)
    .execute();
  await offIfNone(trx, setup);
}

/** Turns the event triggers off when no subscriber row is left. */
async function offIfNone(
  trx: Kysely<SitqSchema>,
  setup: EventSetup,
): Promise<void> {
  const any = await trx.selectFrom("sitq_subscribers").select("subscriber_id")
    .limit(1)
    .executeTakeFirst();
  if (any === undefined) await runAll(trx, setup.triggers.disable);
}

/** Refreshes a subscriber's row and cleans up; false when its row is gone. */
export async function heartbeatSubscriber(
  trx: Kysely<SitqSchema>,
  beat: SubscriberBeat,
  setup: EventSetup,
): Promise<boolean> {
  await sweepDead(trx, beat.now, setup);
  const update = await trx.updateTable("sitq_subscribers")
    .set({
      cursor: beat.cursor,
      heartbeat_at: beat.now,
      expires_at: beat.expiresAt,
    })
    .where("subscriber_id", "=", beat.id).executeTakeFirst();
  const low = await trx.selectFrom("sitq_subscribers")
    .select((eb) => eb.fn.min("cursor").as("low")).executeTakeFirst();
  const order = setup.order;
  const column = order === "id" ? "id" : "tx";
  // SQLite's cursor is the last id read (delete up to it); PostgreSQL's the
  // first transaction not read (delete below it).
  await trx.deleteFrom("sitq_events").where((eb) =>
    eb.or([
      eb("at", "<", beat.retainAfter),
      ...(low?.low == null ? [] : [
        eb(column, order === "id" ? "<=" : "<", Number(low.low)),
      ]),
    ])
  ).execute();
  return update.numUpdatedRows > 0n;
}

/**
 * Deletes a subscriber's row (no row is no error) and dead ones, and turns
 * the triggers off when none is left.
 */
export async function removeSubscriber(
  trx: Kysely<SitqSchema>,
  id: string,
  now: number,
  setup: EventSetup,
): Promise<void> {
  await lockRegistry(trx, setup);
  await trx.deleteFrom("sitq_subscribers")
    .where((eb) =>
      eb.or([eb("subscriber_id", "=", id), eb("expires_at", "<=", now)])
    )
    .execute();
  await offIfNone(trx, setup);
}

/** Reads the events after `cursor`; see the module doc. */
export async function readEvents(
  db: Kysely<SitqSchema>,
  cursor: number,
  limit: number,
  order: EventOrder,
): Promise<EventPage> {
  const columns = [
    "id",
    "type",
    "task_id",
    "name",
    "queue",
    "attempt",
    "at",
    "progress",
    "error",
  ] as const;
  if (order === "id") {
    const rows = await db.selectFrom("sitq_events").select(columns)
      .where("id", ">", cursor).orderBy("id").limit(limit).execute();
    const events = rows.map(toEventRow);
    return {
      events,
      cursor: events.length === 0 ? cursor : events[events.length - 1]!.id,
    };
  }
  const upTo = await horizon(db);
  if (upTo <= cursor) return { events: [], cursor };
  const rows = await db.selectFrom("sitq_events").select(columns)
    .where("tx", ">=", cursor).where("tx", "<", upTo).orderBy("id")
    .execute();
  return { events: rows.map(toEventRow), cursor: upTo };
}

function toEventRow(row: {
  id: number;
  type: string;
  task_id: number;
  name: string;
  queue: string;
  attempt: number;
  at: number;
  progress: string | null;
  error: string | null;
}): EventRow {
  return {
    id: Number(row.id),
    type: row.type as EventRow["type"],
    taskId: Number(row.task_id),
    name: row.name,
    queue: row.queue,
    attempt: Number(row.attempt),
    at: Number(row.at),
    progress: row.progress,
    error: row.error,
  };
}
