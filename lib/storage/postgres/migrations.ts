/**
 * PostgreSQL's versioned schema changes: the same versions as SQLite's
 * (`../sqlite/migrations.ts`), in PostgreSQL's DDL. Ids are `bigint`
 * identity columns and times `bigint` epoch milliseconds (a 32-bit
 * `integer` would overflow), parsed back into numbers (see `open_pg.ts`);
 * so are priorities and attempt counts, which sitq accepts as any safe
 * integer. Indexes are partial on the same status literals as SQLite's.
 *
 * Each runs once, in order, inside the caller's transaction, after the
 * dialect took the schema's advisory lock: processes that start together
 * migrate one at a time, and each later one finds the work done. A failed
 * migration rolls back whole (PostgreSQL's DDL is transactional).
 *
 * Never edit a released migration: add a new one.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import { DatabaseError } from "../../core/errors.ts";
import { migrateDependencies } from "../dependencies_schema.ts";
import { migrateQueues } from "../queues_schema.ts";
import { migrateEventsPostgres } from "../events_schema.ts";
import { migrateSchedules } from "../schedules_schema.ts";
import { migrateWorkers } from "../workers_schema.ts";
import { QUEUED, RUNNING, type SitqSchema } from "../schema.ts";

type Migration = (db: Kysely<SitqSchema>, schema: string) => Promise<void>;

/** The migrations, version i + 1 at index i. */
const MIGRATIONS: readonly Migration[] = [
  // v1: the task table and its claim and lease indexes.
  async (db) => {
    await db.schema.createTable("sitq_tasks")
      .addColumn(
        "id",
        "bigint",
        (c) => c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("args", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("priority", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("run_at", "bigint", (c) => c.notNull())
      .addColumn("attempts", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("max_attempts", "bigint", (c) => c.notNull())
      .addColumn("timeout_ms", "bigint")
      .addColumn("worker_id", "text")
      .addColumn("lease_expires_at", "bigint")
      .addColumn("result", "text")
      .addColumn("error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("started_at", "bigint")
      .addColumn("finished_at", "bigint")
      .execute();
    // Partial, as on SQLite: the claim and lease scans stay proportional to
    // the queued and running rows, not to the whole history.
    await db.schema.createIndex("sitq_tasks_claim").on("sitq_tasks")
      .columns(["priority desc", "run_at", "id"])
      .where(sql.ref("status"), "=", QUEUED).execute();
    await db.schema.createIndex("sitq_tasks_lease").on("sitq_tasks")
      .column("lease_expires_at")
      .where(sql.ref("status"), "=", RUNNING).execute();
  },
  // v2: attempt history and handler progress.
  async (db) => {
    await db.schema.alterTable("sitq_tasks").addColumn("progress", "text")
      .execute();
    await db.schema.createTable("sitq_attempts")
      .addColumn(
        "id",
        "bigint",
        (c) => c.primaryKey().generatedByDefaultAsIdentity(),
      )
      .addColumn("task_id", "bigint", (c) => c.notNull())
      .addColumn("attempt", "bigint", (c) => c.notNull())
      .addColumn("worker_id", "text", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .execute();
    await db.schema.createIndex("sitq_attempts_task").on("sitq_attempts")
      .column("task_id").execute();
  },
  // v3: queued tasks by run time, for the next run time a worker wakes at
  // after a short claim (see the SQLite migration for why it is partial and
  // why it leaves out negative run times).
  async (db) => {
    await db.schema.createIndex("sitq_tasks_next_run").on("sitq_tasks")
      .column("run_at")
      .where((eb) =>
        eb.and([
          eb(sql.ref("status"), "=", QUEUED),
          eb(sql.ref("run_at"), ">=", sql.lit(0)),
        ])
      ).execute();
  },
  // v4: unique keys (see the SQLite migration for what the index holds and
  // why). Under READ COMMITTED an enqueue that meets another transaction's
  // uncommitted holder waits for its end, then skips or inserts.
  async (db) => {
    for (
      const [column, type] of [
        ["unique_key", "text"],
        ["unique_for", "bigint"],
        ["unique_released_at", "bigint"],
      ] as const
    ) {
      await db.schema.alterTable("sitq_tasks").addColumn(column, type)
        .execute();
    }
    await db.schema.createIndex("sitq_tasks_unique_key").on("sitq_tasks")
      .columns(["name", "unique_key"]).unique()
      .where((eb) =>
        eb.and([
          eb(sql.ref("unique_key"), "is not", null),
          eb.or([
            eb(sql.ref("status"), "in", [
              sql.lit("waiting"),
              sql.lit("queued"),
              sql.lit("running"),
            ]),
            eb.and([
              eb(sql.ref("status"), "=", sql.lit("completed")),
              eb(sql.ref("unique_for"), "is not", null),
              eb(sql.ref("unique_released_at"), "is", null),
            ]),
          ]),
        ])
      ).execute();
  },
  // v5: nothing changes on PostgreSQL; the version is SQLite's (see its v5:
  // fewer pages per worker commit). Both of SQLite's changes would cost
  // PostgreSQL more than they save. Its identity column has no
  // sqlite_sequence row to drop. And an update that changes an indexed
  // column, or one an index's condition names (a claim or settlement
  // changes `status`), adds an entry to every index whose condition the
  // new row meets: an index of every task's run time would grow at every
  // claim, settlement and renewal, where the queued-only one grows only at
  // inserts and retries. The next-run lookup suits both indexes.
  async () => {},
  // v6: dependencies between tasks (workflows); see dependencies_schema.ts.
  (db) => migrateDependencies(db, "bigint"),
  // v7: the registry of running workers; see workers_schema.ts.
  (db) => migrateWorkers(db, "bigint"),
  // v8: named queues (task column, settings, rate-limit starts); see
  // queues_schema.ts.
  (db) => migrateQueues(db, "bigint"),
  // v9: task events for subscribers in any process; see events_schema.ts.
  (db, schema) => migrateEventsPostgres(db, schema),
  // v10: recurring schedules; see schedules_schema.ts.
  (db) => migrateSchedules(db, "bigint"),
  // v11: no table changes. A completed attempt no longer writes a history
  // row: its task's row describes it, and `getAttempts` reads it from
  // there (see inspect_tasks.ts). The version keeps an older sitq, which
  // would show such a task without its last attempt, from opening it.
  // (SQLite's v11 also drops sitq_tasks_next_run; PostgreSQL keeps it: its
  // index holds queued tasks only and costs an insert no extra page it
  // would not write for the claim index's sake.)
  async () => {},
];

/** The schema version this sitq writes; the same number as SQLite's. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

const VERSION_KEY = "schema_version";

/**
 * The version recorded in `schema`, 0 when it has no `sitq_meta` table (or
 * does not exist). Read without DDL, so that a role without the CREATE
 * privilege can open a schema that is already up to date.
 */
async function currentVersion(
  db: Kysely<SitqSchema>,
  schema: string,
): Promise<number> {
  const { rows } = await sql<{ present: boolean }>`
    select to_regclass(${`"${schema}"."sitq_meta"`}) is not null as present`
    .execute(db);
  if (rows[0]?.present !== true) return 0;
  const row = await db.selectFrom("sitq_meta").select("value")
    .where("key", "=", VERSION_KEY).executeTakeFirst();
  return row === undefined ? 0 : Number(row.value);
}

/**
 * Brings `schema` up to `target` (the newest by default), creating the
 * schema when it is missing. Call inside a transaction holding the schema's
 * migration lock, on a Kysely instance that qualifies sitq's tables with
 * `schema`.
 *
 * @param db The transaction.
 * @param schema The schema name (already checked to be a plain identifier).
 * @param where The server, as messages name it.
 * @param target The version to reach.
 * @returns The version the schema had before.
 * @throws {DatabaseError} `SCHEMA_TOO_NEW` if a newer sitq wrote the schema.
 */
export async function migrate(
  db: Kysely<SitqSchema>,
  schema: string,
  where: string,
  target: number = SCHEMA_VERSION,
): Promise<number> {
  const current = await currentVersion(db, schema);
  if (current > SCHEMA_VERSION) {
    throw new DatabaseError(
      "SCHEMA_TOO_NEW",
      `Cannot open schema "${schema}" on ${where}: its sitq schema is version ${current}, written by a newer sitq than this one (which knows up to version ${SCHEMA_VERSION}); upgrade sitq, or use another schema`,
    );
  }
  if (current >= target) return current;
  await db.schema.createSchema(schema).ifNotExists().execute();
  await db.schema.createTable("sitq_meta").ifNotExists()
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
  for (let version = current + 1; version <= target; version++) {
    await MIGRATIONS[version - 1]!(db, schema);
  }
  await db.insertInto("sitq_meta")
    .values({ key: VERSION_KEY, value: String(target) })
    .onConflict((c) => c.column("key").doUpdateSet({ value: String(target) }))
    .execute();
  return current;
}
