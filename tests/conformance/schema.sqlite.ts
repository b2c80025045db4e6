/**
 * Schema versions, SQLite only (the file is read and shaped with the
 * runtime's own SQLite binding): a database written by a newer sitq is
 * refused with SCHEMA_TOO_NEW and left untouched, and one written by the
 * first sitq is upgraded in place with its tasks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Suite, TestContext } from "./harness.ts";
import { type RawDatabase, withRawSqlite } from "./raw_sqlite.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/**
 * The schema as sitq's first version (schema version 1) created it, word for
 * word: the task table and its two partial indexes, no progress column and
 * no attempt history. Frozen on purpose: it is a file from the past.
 */
const SCHEMA_V1 = `
  CREATE TABLE "sitq_meta" ("key" text primary key, "value" text not null);
  CREATE TABLE "sitq_tasks" ("id" integer primary key autoincrement,
    "name" text not null, "args" text not null, "status" text not null,
    "priority" integer default 0 not null, "run_at" integer not null,
    "attempts" integer default 0 not null, "max_attempts" integer not null,
    "timeout_ms" integer, "worker_id" text, "lease_expires_at" integer,
    "result" text, "error" text, "created_at" integer not null,
    "started_at" integer, "finished_at" integer);
  CREATE INDEX "sitq_tasks_claim" on "sitq_tasks" ("priority" desc, "run_at", "id")
    where "status" = 'queued';
  CREATE INDEX "sitq_tasks_lease" on "sitq_tasks" ("lease_expires_at")
    where "status" = 'running';
  INSERT INTO "sitq_meta" ("key", "value") VALUES ('schema_version', '1');
`;

/**
 * The schema as it stood at version 3, word for word what sitq wrote then:
 * version 1's tables, version 2's progress column and attempt history (its
 * ids AUTOINCREMENT), version 3's queued-only run-time index. Frozen on
 * purpose: it is a file from the past.
 */
const SCHEMA_V3 = SCHEMA_V1.replace(
  'INSERT INTO "sitq_meta" ("key", "value") VALUES (\'schema_version\', \'1\');',
  `ALTER TABLE "sitq_tasks" ADD COLUMN "progress" text;
  CREATE TABLE "sitq_attempts" ("id" integer primary key autoincrement,
    "task_id" integer not null, "attempt" integer not null,
    "worker_id" text not null, "started_at" integer not null,
    "finished_at" integer not null, "outcome" text not null, "error" text);
  CREATE INDEX "sitq_attempts_task" on "sitq_attempts" ("task_id");
  CREATE INDEX "sitq_tasks_next_run" on "sitq_tasks" ("run_at")
    where ("status" = 'queued' and "run_at" >= 0);
  INSERT INTO "sitq_meta" ("key", "value") VALUES ('schema_version', '3');`,
);

function schemaVersion(db: RawDatabase): number {
  const [row] = db.prepare(
    "select value from sitq_meta where key = 'schema_version'",
  ).all() as Array<{ value: string }>;
  return Number(row?.value);
}

function allTasks(db: RawDatabase): unknown[] {
  return db.prepare("select * from sitq_tasks order by id").all()
    .map((row) => ({ ...row as object }));
}

/** The schema version sitq gives a new file. */
async function currentVersion(t: TestContext): Promise<number> {
  const path = join(t.tempDir(), "fresh.db");
  const fresh = new t.sitq.SQLiteBackend(path);
  await fresh.open();
  await fresh.close();
  return await withRawSqlite(path, schemaVersion);
}

/** Registers the schema tests, for SQLite files. */
export function sqliteSchemaTests({ test, factory }: Suite): void {
  const { family, connections } = factory;
  // An SQLite store that other connections can open is a file.
  if (family !== "sqlite" || !connections) return;
  test("a database written by a newer sitq is refused with SCHEMA_TOO_NEW and left as it was", async (t) => {
    const path = t.store().path!;
    const writer = t.connect();
    await calls.insertOne(writer, { args: '["kept"]' });
    await writer.close();
    const newer = (await currentVersion(t)) + 5;
    const before = await withRawSqlite(path, (db) => {
      db.prepare(
        "update sitq_meta set value = ? where key = 'schema_version'",
      ).run(String(newer));
      return allTasks(db);
    });
    const reader = t.connect();
    await assert.rejects(reader.getTask(1), (error) => {
      assert.ok(error instanceof t.sitq.DatabaseError, String(error));
      assert.equal(error.code, "SCHEMA_TOO_NEW");
      assert.match(error.message, new RegExp(`version ${newer}\\b`));
      return true;
    });
    await withRawSqlite(path, (db) => {
      assert.equal(schemaVersion(db), newer);
      assert.deepEqual(allTasks(db), before);
    });
    assert.equal(before.length, 1);
  });

  test("a version 1 database is upgraded in place, keeps its tasks, and works on", async (t) => {
    const path = t.store().path!;
    await withRawSqlite(path, (db) => {
      db.exec(SCHEMA_V1);
      db.prepare(
        `insert into sitq_tasks (name, args, status, priority, run_at,
           attempts, max_attempts, timeout_ms, created_at)
         values ('job', '["old"]', 'queued', 3, ?, 0, 4, 1500, ?)`,
      ).run(T0 - 10, T0 - 20);
    });
    const backend = t.backend();
    const row = await calls.taskRow(backend, 1);
    assert.deepEqual(
      [row.name, row.args, row.status, row.priority, row.run_at],
      ["job", '["old"]', "queued", 3, T0 - 10],
    );
    assert.deepEqual(
      [row.max_attempts, row.timeout_ms, row.created_at, row.progress],
      [4, 1500, T0 - 20, null],
    );
    assert.deepEqual(await calls.attemptRows(backend, 1), []);
    const token = await calls.claimOne(backend);
    assert.deepEqual(token, { id: 1, workerId: "w1", attempt: 1 });
    assert.equal(await backend.saveProgress(token, '"half"'), true);
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    assert.deepEqual(
      (await calls.attemptRows(backend, 1)).map((a) => a.outcome),
      ["completed"],
    );
    assert.equal(await calls.insertOne(backend), 2, "ids go on");
    const version = await currentVersion(t);
    assert.equal(await withRawSqlite(path, schemaVersion), version);
  });

  test("a version 3 database is upgraded in place: its history stays, in order, and new history follows it", async (t) => {
    const path = t.store().path!;
    await withRawSqlite(path, (db) => {
      db.exec(SCHEMA_V3);
      const insert = db.prepare(
        `insert into sitq_tasks (name, args, status, priority, run_at,
           attempts, max_attempts, created_at, finished_at)
         values ('job', '[]', ?, 0, ?, ?, 3, ?, ?)`,
      );
      insert.run("failed", T0 - 10, 2, T0 - 20, T0 - 5);
      insert.run("queued", T0 - 10, 0, T0 - 20, null);
      // History with gaps, as left by pruning: ids 4 and 9, the sequence
      // at 12.
      const history = db.prepare(
        `insert into sitq_attempts (id, task_id, attempt, worker_id,
           started_at, finished_at, outcome, error)
         values (?, 1, ?, 'old', ?, ?, 'failed', '{}')`,
      );
      history.run(4, 1, T0 - 9, T0 - 8);
      history.run(9, 2, T0 - 7, T0 - 6);
      db.prepare(
        "update sqlite_sequence set seq = 12 where name = 'sitq_attempts'",
      ).run();
    });
    const backend = t.backend();
    assert.deepEqual(
      (await calls.attemptRows(backend, 1)).map((
        a,
      ) => [a.attempt, a.worker_id]),
      [[1, "old"], [2, "old"]],
    );
    const token = await calls.claimOne(backend);
    assert.equal(token.id, 2);
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    assert.equal(await backend.requeue(1, T0).then((r) => r.changed), true);
    const again = await calls.claimOne(backend);
    assert.deepEqual([again.id, again.attempt], [1, 1]);
    assert.equal(await calls.settle(backend, rows.completed(again)), true);
    assert.deepEqual(
      (await calls.attemptRows(backend, 1)).map((a) => [a.attempt, a.outcome]),
      [[1, "failed"], [2, "failed"], [1, "completed"]],
      "the requeued task's new attempt comes after its old history",
    );
    assert.deepEqual(
      (await calls.attemptRows(backend, 2)).map((a) => a.outcome),
      ["completed"],
    );
    const version = await currentVersion(t);
    await withRawSqlite(path, (db) => {
      assert.equal(schemaVersion(db), version);
      const ids = db.prepare("select id from sitq_attempts order by id")
        .all().map((row) => (row as { id: number }).id);
      assert.deepEqual(ids.slice(0, 2), [4, 9], "old ids kept");
      assert.ok(ids.slice(2).every((id) => id > 9), `${ids} go on above`);
      assert.deepEqual(
        db.prepare(
          "select name from sqlite_sequence where name = 'sitq_attempts'",
        ).all(),
        [],
        "history ids no longer use AUTOINCREMENT",
      );
    });
  });
}
