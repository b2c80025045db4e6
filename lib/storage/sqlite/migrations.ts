/**
 * SQLite's versioned schema changes. Each runs once, in order, inside the
 * caller's write transaction, so two processes opening one file never
 * migrate at once and a failed migration leaves the database as it was.
 * The DDL is SQLite's (`integer` epoch-ms columns, `autoincrement`, partial
 * indexes); another database keeps its own migrations with the same version
 * numbers.
 *
 * Never edit a released migration: add a new one.
 *
 * @module
 */
import { type Kysely, sql } from "kysely";
import { DatabaseError } from "../../core/errors.ts";
import { QUEUED, RUNNING, type SitqSchema } from "../schema.ts";

type Migration = (db: Kysely<SitqSchema>) => Promise<void>;

/** The migrations, version i + 1 at index i. */
const MIGRATIONS: readonly Migration[] = [
  // v1: the task table and its claim index.
  async (db) => {
    await db.schema.createTable("sitq_tasks")
      .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("args", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("priority", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("run_at", "integer", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("max_attempts", "integer", (c) => c.notNull())
      .addColumn("timeout_ms", "integer")
      .addColumn("worker_id", "text")
      .addColumn("lease_expires_at", "integer")
      .addColumn("result", "text")
      .addColumn("error", "text")
      .addColumn("created_at", "integer", (c) => c.notNull())
      .addColumn("started_at", "integer")
      .addColumn("finished_at", "integer")
      .execute();
    // Partial indexes keep the claim and lease scans proportional to the
    // queued/running rows, not to the whole history (on the status literals,
    // see schema.ts). There is deliberately no plain index on status: SQLite
    // prefers it for the claim and then sorts every queued row, making each
    // claim O(queue length).
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
      .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
      .addColumn("task_id", "integer", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("worker_id", "text", (c) => c.notNull())
      .addColumn("started_at", "integer", (c) => c.notNull())
      .addColumn("finished_at", "integer", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .execute();
    await db.schema.createIndex("sitq_attempts_task").on("sitq_attempts")
      .column("task_id").execute();
  },
  // v3: queued tasks by run time, for the next run time a worker wakes at
  // after a short claim (queries/claim_tasks.ts): without it that lookup
  // read every queued row of the worker's names on each idle poll, so a
  // large backlog of delayed tasks cost an idle worker a large share of a
  // core. Partial, like the claim index, so it holds queued rows only. Its
  // second condition is one the claim never states, so SQLite can never
  // choose this index for the claim, which must walk sitq_tasks_claim in
  // priority order (with this index it would sort every due row instead).
  // Rows with a negative run time (before 1970) are left out: they are
  // always due, and the lookup only asks for run times after now.
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
];

/** The schema version this sitq writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

const VERSION_KEY = "schema_version";

/**
 * Brings the schema up to `target` (the newest by default). Call inside a
 * write transaction.
 *
 * @returns The version the database had before.
 * @throws {DatabaseError} `SCHEMA_TOO_NEW` if a newer sitq wrote the database.
 */
export async function migrate(
  db: Kysely<SitqSchema>,
  target: number = SCHEMA_VERSION,
): Promise<number> {
  await db.schema.createTable("sitq_meta").ifNotExists()
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
  const row = await db.selectFrom("sitq_meta").select("value")
    .where("key", "=", VERSION_KEY).executeTakeFirst();
  const current = row === undefined ? 0 : Number(row.value);
  if (current > SCHEMA_VERSION) {
    throw new DatabaseError(
      "SCHEMA_TOO_NEW",
      // "the database" becomes its path in toDatabaseError (sqlite_errors.ts),
      // which knows it: the message must keep starting this way.
      `Cannot open the database: its schema is version ${current}, written by a newer sitq than this one (which knows up to version ${SCHEMA_VERSION}); upgrade sitq`,
    );
  }
  for (let version = current + 1; version <= target; version++) {
    await MIGRATIONS[version - 1]!(db);
  }
  if (target > current) {
    await db.insertInto("sitq_meta")
      .values({ key: VERSION_KEY, value: String(target) })
      .onConflict((c) => c.column("key").doUpdateSet({ value: String(target) }))
      .execute();
  }
  return current;
}
