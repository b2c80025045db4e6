/**
 * Schema versions and column types, PostgreSQL only (the schema is read and
 * shaped with node-postgres, not through sitq): a new schema gets the
 * version SQLite gets and 64-bit times and ids, which come back as the very
 * same numbers; a schema written by a newer sitq is refused with
 * SCHEMA_TOO_NEW and left untouched; one written by the first sitq is
 * upgraded in place with its tasks; processes opening one new schema at once
 * migrate it exactly once; the schema option names a plain identifier and
 * keeps two schemas of one database apart.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshSchema } from "../support/postgres_server.ts";
import {
  type Claimer,
  describeClaimer,
  ready,
  spawnClaimer,
} from "./claim_processes.ts";
import {
  postgresModuleOf,
  type SitqPostgres,
  type StoreSpec,
  type Suite,
  type TestContext,
} from "./harness.ts";
import {
  dropSchema,
  ident,
  type RawClient,
  withRawPostgres,
} from "./raw_postgres.ts";
import { withRawSqlite } from "./raw_sqlite.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

const OPENER = fileURLToPath(
  new URL("../fixtures/conformance_opener.mjs", import.meta.url),
);

/**
 * The schema as the first sitq (schema version 1) would have created it on
 * PostgreSQL: SQLite's version 1 with 64-bit times and ids. Frozen on
 * purpose: it is a schema from the past. `%s` is the schema's quoted name.
 */
const SCHEMA_V1 = `
  CREATE SCHEMA %s;
  SET LOCAL search_path TO %s;
  CREATE TABLE "sitq_meta" ("key" text primary key, "value" text not null);
  CREATE TABLE "sitq_tasks" ("id" bigserial primary key,
    "name" text not null, "args" text not null, "status" text not null,
    "priority" integer default 0 not null, "run_at" bigint not null,
    "attempts" integer default 0 not null, "max_attempts" integer not null,
    "timeout_ms" bigint, "worker_id" text, "lease_expires_at" bigint,
    "result" text, "error" text, "created_at" bigint not null,
    "started_at" bigint, "finished_at" bigint);
  CREATE INDEX "sitq_tasks_claim" on "sitq_tasks" ("priority" desc, "run_at", "id")
    where "status" = 'queued';
  CREATE INDEX "sitq_tasks_lease" on "sitq_tasks" ("lease_expires_at")
    where "status" = 'running';
  INSERT INTO "sitq_meta" ("key", "value") VALUES ('schema_version', '1');
`;

/** The store's server and schema. */
function postgresSpec(t: TestContext): { url: string; schema: string } {
  const spec = t.store().spec as Extract<StoreSpec, { backend: "postgres" }>;
  assert.equal(spec?.backend, "postgres");
  return spec;
}

/** Runs `fn` on a raw connection with the store's schema first in the path. */
function withSchema<T>(
  t: TestContext,
  fn: (client: RawClient) => Promise<T>,
): Promise<T> {
  const { url, schema } = postgresSpec(t);
  return withRawPostgres(url, async (client) => {
    await client.query(`set search_path to ${ident(schema)}`);
    return await fn(client);
  });
}

async function schemaVersion(client: RawClient): Promise<number> {
  const { rows } = await client.query(
    "select value from sitq_meta where key = 'schema_version'",
  );
  return Number(rows[0]?.value);
}

async function allTasks(client: RawClient): Promise<unknown[]> {
  return (await client.query("select * from sitq_tasks order by id")).rows;
}

/** The schema version sitq gives a new SQLite file. */
async function sqliteVersion(t: TestContext): Promise<number> {
  const path = join(t.tempDir(), "fresh.db");
  const fresh = new t.sitq.SQLiteBackend(path);
  await fresh.open();
  await fresh.close();
  return await withRawSqlite(path, (db) => {
    const [row] = db.prepare(
      "select value from sitq_meta where key = 'schema_version'",
    ).all() as Array<{ value: string }>;
    return Number(row?.value);
  });
}

/** sitq's PostgreSQL entry, beside the public entry under test. */
function loadPostgres(t: TestContext): Promise<SitqPostgres> {
  return import(postgresModuleOf(t.sitqModule)) as Promise<SitqPostgres>;
}

/** What the output of an opener child says it inserted. */
async function openerId(child: Claimer): Promise<number> {
  const code = await child.exited;
  const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || line === undefined) {
    throw new Error(`opener exited with ${code}\n${describeClaimer(child)}`);
  }
  return (JSON.parse(line) as { id: number }).id;
}

/** Registers the schema tests, for PostgreSQL stores. */
export function postgresSchemaTests({ test, factory }: Suite): void {
  if (factory.family !== "postgres") return;

  test("a new schema has SQLite's schema version, its tables, and 64-bit ids and times", async (t) => {
    const { schema } = postgresSpec(t);
    await t.backend().open();
    const expected = await sqliteVersion(t);
    await withSchema(t, async (client) => {
      assert.equal(await schemaVersion(client), expected);
      const tables = await client.query(
        `select table_name from information_schema.tables
          where table_schema = $1 order by table_name`,
        [schema],
      );
      assert.deepEqual(tables.rows.map((r) => r.table_name), [
        "sitq_attempts",
        "sitq_dependencies",
        "sitq_events",
        "sitq_meta",
        "sitq_queue_starts",
        "sitq_queues",
        "sitq_schedules",
        "sitq_subscribers",
        "sitq_tasks",
        "sitq_workers",
      ]);
      const columns = await client.query(
        `select table_name || '.' || column_name as col, data_type
           from information_schema.columns
          where table_schema = $1
            and (column_name = 'id' or column_name like '%\\_at'
                 or column_name in ('task_id', 'child_id', 'parent_id',
                   'cancelled_by'))`,
        [schema],
      );
      assert.ok(columns.rows.length >= 10, JSON.stringify(columns.rows));
      for (const { col, data_type } of columns.rows) {
        assert.equal(data_type, "bigint", `${col} is a 64-bit column`);
      }
    });
  });

  test("ids and times past 32 bits come back as the same JS numbers", async (t) => {
    const backend = t.backend();
    await backend.open();
    const base = 2 ** 40;
    await withSchema(t, async (client) => {
      await client.query(
        "select setval(pg_get_serial_sequence('sitq_tasks', 'id'), $1)",
        [base],
      );
    });
    // Large, odd, and still exact as a double; room for a long lease on top.
    const runAt = 2 ** 52 + 12_345;
    const createdAt = 2 ** 51 + 1;
    const id = await calls.insertOne(backend, { runAt, createdAt });
    assert.equal(id, base + 1);
    const row = await calls.taskRow(backend, id);
    assert.deepEqual([row.id, row.run_at, row.created_at], [
      base + 1,
      runAt,
      createdAt,
    ]);
    const [claimed] = await calls.claim(backend, { now: runAt, limit: 1 });
    assert.equal(claimed?.id, id);
    const token = { id, workerId: "w1", attempt: 1 };
    const running = await calls.taskRow(backend, id);
    assert.equal(running.started_at, runAt);
    assert.equal(running.lease_expires_at, runAt + rows.LONG_LEASE);
    assert.equal(
      await calls.settle(backend, {
        ...rows.completed(token),
        startedAt: runAt,
        finishedAt: runAt + 7,
      }),
      true,
    );
    const [attempt] = await calls.attemptRows(backend, id);
    assert.deepEqual(
      [attempt?.task_id, attempt?.started_at, attempt?.finished_at],
      [id, runAt, runAt + 7],
    );
    for (const value of Object.values(await calls.taskRow(backend, id))) {
      assert.notEqual(typeof value, "bigint");
    }
    assert.deepEqual(
      await backend.listTasks({ limit: 5 }).then((page) =>
        page.map((r) => [typeof r.id, r.id])
      ),
      [["number", id]],
    );
  });

  test("a schema written by a newer sitq is refused with SCHEMA_TOO_NEW and left as it was", async (t) => {
    const writer = t.connect();
    await calls.insertOne(writer, { args: '["kept"]' });
    await writer.close();
    const newer = (await sqliteVersion(t)) + 5;
    const before = await withSchema(t, async (client) => {
      await client.query(
        "update sitq_meta set value = $1 where key = 'schema_version'",
        [String(newer)],
      );
      return await allTasks(client);
    });
    const reader = t.connect();
    await assert.rejects(reader.getTask(1), (error) => {
      assert.ok(error instanceof t.sitq.DatabaseError, String(error));
      assert.equal(error.code, "SCHEMA_TOO_NEW");
      assert.match(error.message, new RegExp(`version ${newer}\\b`));
      return true;
    });
    await withSchema(t, async (client) => {
      assert.equal(await schemaVersion(client), newer);
      assert.deepEqual(await allTasks(client), before);
    });
    assert.equal(before.length, 1);
  });

  test("a version 1 schema is upgraded in place, keeps its tasks, and works on", async (t) => {
    const { url, schema } = postgresSpec(t);
    await withRawPostgres(url, async (client) => {
      await client.query("begin");
      await client.query(SCHEMA_V1.replaceAll("%s", ident(schema)));
      await client.query(
        `insert into sitq_tasks (name, args, status, priority, run_at,
           attempts, max_attempts, timeout_ms, created_at)
         values ('job', '["old"]', 'queued', 3, $1, 0, 4, 1500, $2)`,
        [T0 - 10, T0 - 20],
      );
      await client.query("commit");
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
    const version = await sqliteVersion(t);
    assert.equal(await withSchema(t, schemaVersion), version);
  });

  test(
    "six processes opening one new schema at once migrate it exactly once",
    async (t) => {
      const { url, schema } = postgresSpec(t);
      // Every DDL command on the schema, logged by an event trigger into a
      // schema of the test's own (event triggers need a superuser, which the
      // tests' server has).
      const log = `${schema}_ddl`;
      const trigger = `${log}_trigger`;
      await withRawPostgres(url, async (client) => {
        await client.query(`create schema ${ident(log)}`);
        await client.query(
          `create table ${ident(log)}.ddl (tag text, object text)`,
        );
        await client.query(`
        create function ${ident(log)}.log_ddl() returns event_trigger
        language plpgsql as $$
        declare c record;
        begin
          for c in select * from pg_event_trigger_ddl_commands() loop
            if c.schema_name = '${schema}' or c.object_identity = '${schema}'
            then
              insert into ${ident(log)}.ddl values
                (c.command_tag, c.object_identity);
            end if;
          end loop;
        end $$`);
        await client.query(
          `create event trigger ${ident(trigger)} on ddl_command_end
         execute function ${ident(log)}.log_ddl()`,
        );
      });
      t.defer(() => dropSchema(url, log));
      const children = Array.from(
        { length: 6 },
        () =>
          spawnClaimer(
            { store: { backend: "postgres", url, schema } },
            t.sitqModule,
            OPENER,
          ),
      );
      t.defer(() => {
        for (const child of children) child.proc.kill("SIGKILL");
      });
      await Promise.all(children.map(ready));
      for (const child of children) child.proc.stdin!.end("go\n");
      const ids = await Promise.all(children.map(openerId));
      assert.deepEqual([...ids].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
      const expected = await sqliteVersion(t);
      assert.equal(await withSchema(t, schemaVersion), expected);
      const ddl = await withRawPostgres(url, async (client) => {
        await client.query(`drop event trigger ${ident(trigger)}`);
        return (await client.query(
          `select tag, object from ${ident(log)}.ddl`,
        )).rows.map((r) => `${r.tag} ${r.object}`);
      });
      const created = ddl.filter((line) => line.startsWith("CREATE TABLE "));
      assert.deepEqual(
        created.sort(),
        [
          "sitq_attempts",
          "sitq_dependencies",
          "sitq_events",
          "sitq_meta",
          "sitq_queue_starts",
          "sitq_queues",
          "sitq_schedules",
          "sitq_subscribers",
          "sitq_tasks",
          "sitq_workers",
        ].map((
          table,
        ) => `CREATE TABLE ${schema}.${table}`),
        `each table created once: ${JSON.stringify(ddl)}`,
      );
      // Each object created once (one table's several ALTER TABLEs, one
      // per migration that adds columns, are each logged alike).
      const creates = ddl.filter((line) => line.startsWith("CREATE "));
      assert.equal(new Set(creates).size, creates.length, JSON.stringify(ddl));
    },
    { timeout: 60_000 },
  );

  test("the schema option takes a plain identifier, and two schemas on one database keep their tasks apart", async (t) => {
    const { PostgresBackend } = await loadPostgres(t);
    const { url } = postgresSpec(t);
    for (
      const bad of [
        "",
        "has-dash",
        "1starts_with_digit",
        'qu"ote',
        "x".repeat(64),
      ]
    ) {
      assert.throws(
        () => new PostgresBackend(url, { schema: bad }),
        TypeError,
        `schema ${JSON.stringify(bad)}`,
      );
    }
    const a = t.backend();
    const otherSchema = freshSchema();
    const b = new PostgresBackend(url, { schema: otherSchema });
    t.defer(async () => {
      await b.close();
      await dropSchema(url, otherSchema);
    });
    assert.equal(b.schema, otherSchema);
    assert.equal(await calls.insertOne(a, { args: '["a"]' }), 1);
    assert.equal(await calls.insertOne(b, { args: '["b"]' }), 1);
    assert.equal(await calls.insertOne(a), 2);
    assert.deepEqual(await calls.statusCounts(a), rows.counts({ queued: 2 }));
    assert.deepEqual(await calls.statusCounts(b), rows.counts({ queued: 1 }));
    assert.equal((await calls.taskRow(b, 1)).args, '["b"]');
  });
}
