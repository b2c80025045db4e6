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
import { migrateDependencies } from "../dependencies_schema.ts";
import { migrateEventsSqlite } from "../events_schema.ts";
import { migrateQueues } from "../queues_schema.ts";
import { migrateSchedules } from "../schedules_schema.ts";
import { migrateWorkers } from "../workers_schema.ts";
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
  // v4: unique keys (queries/key_holders.ts). A run may carry a key, unique
  // per task name among the rows that hold it: waiting, queued and running
  // tasks, and completed ones whose `unique_for` window has not been given
  // up (`unique_released_at` is set by the enqueue that finds the window
  // over). The index alone decides who holds a key, so concurrent enqueues
  // need no lock of sitq's; settling a task changes no key column, yet
  // moves the row in or out of the index by its status. Partial on
  // `unique_key is not null`: tasks without a key never touch it. Written
  // out here, frozen; the queries spell the same condition (SQLite uses a
  // partial index only for a query that states its condition).
  async (db) => {
    for (
      const [column, type] of [
        ["unique_key", "text"],
        ["unique_for", "integer"],
        ["unique_released_at", "integer"],
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
  // v5: fewer pages written per worker commit. A worker's commit (settle
  // one task, claim the next) wrote 7-8 pages to the write-ahead log, and
  // at concurrency 1 the commit was the largest cost per task: each page is
  // copied to the log, checksummed, and later checkpointed. Two of them
  // paid for nothing:
  // - sqlite_sequence, which AUTOINCREMENT on sitq_attempts updates at
  //   every history row. History ids are never shown nor kept anywhere, and
  //   without AUTOINCREMENT a new id is still above every id in the table,
  //   so reading a task's history by id still reads it in order. (Task ids
  //   keep AUTOINCREMENT: users hold them, and a pruned id must not come
  //   back.) SQLite cannot drop AUTOINCREMENT in place, so the table is
  //   copied, ids included.
  // - sitq_tasks_next_run, which held queued tasks only, so every claim
  //   took its task out of it. It now holds every task with its run time
  //   (still not those before 1970, for the claim's sake: see v3), so only
  //   writes that change a run time touch it: an insert, a retry, a
  //   requeue. The next-run lookup states status = 'queued' itself and
  //   reads the run times after now, which are queued tasks but for those
  //   cancelled before they came due: it walks past those as it walks past
  //   the queued tasks of names it does not ask for.
  async (db) => {
    await db.schema.createTable("sitq_attempts_v5")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("task_id", "integer", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("worker_id", "text", (c) => c.notNull())
      .addColumn("started_at", "integer", (c) => c.notNull())
      .addColumn("finished_at", "integer", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .execute();
    // The columns written out, not taken from the row type: this migration
    // must copy what version 4 had, whatever later versions add.
    const columns = sql.join(
      [
        "id",
        "task_id",
        "attempt",
        "worker_id",
        "started_at",
        "finished_at",
        "outcome",
        "error",
      ].map((column) => sql.ref(column)),
    );
    await sql`insert into sitq_attempts_v5 (${columns})
      select ${columns} from sitq_attempts`.execute(db);
    // Its index and its sqlite_sequence row go with it.
    await db.schema.dropTable("sitq_attempts").execute();
    await db.schema.alterTable("sitq_attempts_v5").renameTo("sitq_attempts")
      .execute();
    await db.schema.createIndex("sitq_attempts_task").on("sitq_attempts")
      .column("task_id").execute();
    await db.schema.dropIndex("sitq_tasks_next_run").execute();
    await db.schema.createIndex("sitq_tasks_next_run").on("sitq_tasks")
      .column("run_at").where(sql.ref("run_at"), ">=", sql.lit(0)).execute();
  },
  // v6: dependencies between tasks (workflows); see dependencies_schema.ts.
  (db) => migrateDependencies(db, "integer"),
  // v7: the registry of running workers; see workers_schema.ts.
  (db) => migrateWorkers(db, "integer"),
  // v8: named queues (task column, settings, rate-limit starts); see
  // queues_schema.ts.
  (db) => migrateQueues(db, "integer"),
  // v9: task events for subscribers in any process; see events_schema.ts.
  (db) => migrateEventsSqlite(db),
  // v10: recurring schedules; see schedules_schema.ts.
  (db) => migrateSchedules(db, "integer"),
  // v11: fewer pages per write.
  // - A completed attempt no longer writes a history row: its task's row
  //   describes it, and `getAttempts` reads it from there (see
  //   inspect_tasks.ts). The version also keeps an older sitq, which would
  //   show such a task without its last attempt, from opening the file.
  // - sitq_tasks_next_run goes: every insert wrote a page of it (a sixth
  //   of a one-task enqueue's time on bun:sqlite), for a lookup that runs
  //   only after a short claim and now seeks the claim index once per
  //   distinct priority instead (see claim_tasks.ts).
  async (db) => {
    await db.schema.dropIndex("sitq_tasks_next_run").ifExists().execute();
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
