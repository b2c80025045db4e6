/**
 * Named queues (schema v8): a task's queue (default, per task, per run),
 * claims filtered by a worker's queues, pause and resume, a global
 * concurrency and an exact sliding-window rate limit counted in the claim
 * transaction (also when connections race), the settings API and its
 * typed errors, listing with counts, workers that wake for a limited
 * queue without spinning, and the upgrade of a version 7 store. The
 * cross-process tests are queue_processes.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend, ClaimedTask } from "../../lib/storage/backend.ts";
import type { Suite, TestContext } from "./harness.ts";
import { ident, withRawPostgres } from "./raw_postgres.ts";
import { withRawSqlite } from "./raw_sqlite.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** A clock stopped at `now` (epoch ms). */
function clockAt(now: number) {
  return { now: () => now };
}

/**
 * The queues of `claimed`, sorted, as stored; each claimed task must also
 * report the queue it was claimed from.
 */
function queuesOf(backend: Backend, claimed: ClaimedTask[]) {
  return Promise.all(
    claimed.map(async (task) => {
      const stored = (await calls.taskRow(backend, task.id)).queue;
      assert.equal(task.queue, stored, `task ${task.id}'s claimed queue`);
      return stored;
    }),
  ).then((queues) => queues.sort());
}

/** `count` "job" tasks of `queue`, due at T0. */
function inQueue(queue: string, count: number) {
  return rows.tasks(count, { queue });
}

/** Registers the named-queue tests. */
export function queueTests({ test, factory }: Suite): void {
  test("a task's queue is 'default', its task's, or its run's; records carry it and listTasks filters by it", async (t) => {
    const queue = new t.sitq.TaskQueue(t.backend());
    const plain = queue.task("plain", (n: number) => n);
    const mailer = queue.task("mail", (n: number) => n, { queue: "emails" });
    const declared = t.sitq.declareTask<[number], number>("declared", {
      queue: "reports",
    });
    queue.declare(declared);
    const a = await queue.enqueue(plain, 1);
    const b = await queue.enqueue(mailer, 2);
    const c = await queue.enqueue(plain.with({ queue: "bulk" }), 3);
    const d = await queue.enqueue(mailer.with({ queue: "bulk" }), 4);
    const e = await queue.enqueue(declared, 5);
    const [f] = await queue.enqueueMany(plain.with({ queue: "bulk" }), [[6]]);
    const queues = await Promise.all(
      [a, b, c, d, e, f!].map(async (id) => (await queue.getTask(id)).queue),
    );
    assert.deepEqual(queues, [
      "default",
      "emails",
      "bulk",
      "bulk",
      "reports",
      "bulk",
    ]);
    const bulk = await queue.listTasks({ queue: "bulk" });
    assert.deepEqual(bulk.tasks.map((task) => task.id), [f, d, c]);
    assert.deepEqual(
      (await queue.listTasks({ queue: "nothing-here" })).tasks,
      [],
    );
    // A unique run replaced in place takes the new run's queue.
    const keyed = plain.with({ uniqueKey: "k", onDuplicate: "replace" });
    const first = await queue.enqueue(keyed, 7);
    const again = await queue.enqueue(keyed.with({ queue: "moved" }), 8);
    assert.equal(again, first);
    assert.equal((await queue.getTask(first)).queue, "moved");
  });

  test("queue names and limits are checked with typed errors that say what to pass", async (t) => {
    const queue = new t.sitq.TaskQueue(t.backend());
    const job = queue.task("job", () => null);
    assert.throws(() => queue.task("x", () => null, { queue: "" }), RangeError);
    assert.throws(
      () => job.with({ queue: "q".repeat(129) }),
      /1 to 128 characters/,
    );
    assert.throws(
      () => job.with({ queue: 5 as unknown as string }),
      TypeError,
    );
    assert.throws(() => job.with({ queue: "a\nb" }), /control characters/);
    assert.doesNotThrow(() => job.with({ queue: "q".repeat(128) }));
    await assert.rejects(queue.queues.pause(""), RangeError);
    await assert.rejects(
      queue.queues.resume(null as unknown as string),
      TypeError,
    );
    await assert.rejects(
      queue.queues.setLimits("q", { concurrency: 0 }),
      RangeError,
    );
    await assert.rejects(
      queue.queues.setLimits("q", { concurrency: 1.5 }),
      RangeError,
    );
    await assert.rejects(
      queue.queues.setLimits("q", { rateLimit: { limit: 5 } } as never),
      /rateLimit.intervalMs' is required/,
    );
    await assert.rejects(
      queue.queues.setLimits("q", {
        rateLimit: { limit: 5, intervalMs: 0 },
      }),
      RangeError,
    );
    await assert.rejects(
      queue.queues.setLimits("q", { concurency: 2 } as never),
      /'concurency' is not an option; known options are concurrency, rateLimit/,
    );
    await assert.rejects(
      queue.queues.setLimits("q", 2 as never),
      TypeError,
    );
    assert.throws(
      () => queue.worker({ queues: [] }),
      /at least one queue/,
    );
    assert.throws(
      () => queue.worker({ queues: "a" as never }),
      /'queues' must be an array/,
    );
    assert.throws(() => queue.worker({ queues: ["a", ""] }), /queues\[1\]/);
    await assert.rejects(queue.listTasks({ queue: "" }), RangeError);
    // Nothing was written by the refused calls.
    assert.deepEqual(await queue.queues.list(), []);
  });

  test("a claim with queues takes only tasks of those queues", async (t) => {
    const backend = t.backend();
    await backend.insertTasks([
      ...inQueue("a", 2),
      ...inQueue("b", 2),
      ...rows.tasks(1),
    ]);
    const onlyB = await calls.claim(backend, { queues: ["b"] });
    assert.deepEqual(await queuesOf(backend, onlyB), ["b", "b"]);
    const rest = await calls.claim(backend);
    assert.deepEqual(await queuesOf(backend, rest), ["a", "a", "default"]);
  });

  test("a paused queue claims nothing while other queues still do; resumed, it is claimed again; running tasks are untouched", async (t) => {
    const backend = t.backend();
    await backend.insertTasks([...inQueue("a", 3), ...inQueue("b", 2)]);
    const running = await calls.claimOne(backend, { queues: ["a"] });
    await backend.updateQueue("a", { paused: true }, T0);
    const claimed = await calls.claim(backend);
    assert.deepEqual(await queuesOf(backend, claimed), ["b", "b"]);
    assert.deepEqual(await calls.claim(backend, { queues: ["a"] }), []);
    // The running task of the paused queue settles as usual.
    assert.equal(await calls.settle(backend, rows.completed(running)), true);
    await backend.updateQueue("a", { paused: false }, T0);
    const resumed = await calls.claim(backend);
    assert.deepEqual(await queuesOf(backend, resumed), ["a", "a"]);
  });

  test("a global concurrency limit holds across claims and workers; a settled task frees its slot; unlimited queues claim alongside", async (t) => {
    const backend = t.backend();
    await backend.updateQueue("limited", { concurrency: 2 }, T0);
    await backend.insertTasks([...inQueue("limited", 5), ...inQueue("b", 3)]);
    const first = await calls.claim(backend, { workerId: "w1", limit: 4 });
    assert.equal(first.length, 4);
    assert.deepEqual(await queuesOf(backend, first), [
      "b",
      "b",
      "limited",
      "limited",
    ]);
    assert.deepEqual(
      await queuesOf(backend, await calls.claim(backend, { workerId: "w2" })),
      ["b"],
    );
    assert.deepEqual(await calls.claim(backend, { workerId: "w3" }), []);
    const limited = [];
    for (const task of first) {
      if ((await calls.taskRow(backend, task.id)).queue === "limited") {
        limited.push(task);
      }
    }
    // Settled and claimed in one step: the freed slot goes to the claim.
    const { applied, claimed } = await backend.settleAndClaim(
      [rows.completed({
        id: limited[0]!.id,
        workerId: "w1",
        attempt: limited[0]!.attempt,
      })],
      rows.claimRequest({ workerId: "w1" }),
    );
    assert.deepEqual(applied, [true]);
    assert.deepEqual(await queuesOf(backend, claimed), ["limited"]);
    // Raised: one more fits.
    await backend.updateQueue("limited", { concurrency: 3 }, T0);
    assert.equal((await calls.claim(backend, { workerId: "w4" })).length, 1);
    // Removed: the rest.
    await backend.updateQueue("limited", { concurrency: null }, T0);
    assert.equal((await calls.claim(backend, { workerId: "w5" })).length, 1);
  });

  test("a rate limit allows at most N starts within any window, says when the window frees, and slides", async (t) => {
    const backend = t.backend();
    await backend.updateQueue(
      "api",
      { rateLimit: { limit: 3, intervalMs: 1000 } },
      T0,
    );
    await backend.insertTasks(inQueue("api", 10));
    const at = (now: number, limit = 10) =>
      backend.settleAndClaim([], rows.claimRequest({ now, limit }));
    assert.equal((await at(T0, 2)).claimed.length, 2);
    assert.equal((await at(T0 + 400)).claimed.length, 1);
    const full = await at(T0 + 500);
    assert.equal(full.claimed.length, 0);
    // The worker wakes when the oldest start leaves the window.
    assert.ok(
      full.nextRunAt !== undefined && full.nextRunAt >= T0 + 1000 &&
        full.nextRunAt <= T0 + 1001,
      `nextRunAt ${full.nextRunAt} is the window's end`,
    );
    // T0 + 1000: the two starts at T0 have left (the window is
    // (now - 1000, now]); the one at T0 + 400 has not.
    assert.equal((await at(T0 + 1000)).claimed.length, 2);
    assert.equal((await at(T0 + 1399)).claimed.length, 0);
    assert.equal((await at(T0 + 1400)).claimed.length, 1);
    // Removed: everything left is claimable.
    await backend.updateQueue("api", { rateLimit: null }, T0);
    assert.equal((await at(T0 + 1401)).claimed.length, 4);
  });

  test("setLimits keeps an omitted limit and null removes it; list and get show settings, counts, the oldest due task's age and due tasks", async (t) => {
    const backend = t.backend();
    const now = T0 + 60_000;
    const queue = new t.sitq.TaskQueue(backend, { clock: clockAt(now) });
    await backend.insertTasks([
      ...rows.tasks(2, { queue: "a", runAt: T0, createdAt: T0 }),
      ...rows.tasks(1, { queue: "a", runAt: now + 5000, createdAt: T0 }),
      ...rows.tasks(1, { queue: "b", runAt: now - 10, createdAt: now - 10 }),
    ]);
    const token = await calls.claimOne(backend, {
      queues: ["b"],
      now,
    });
    await calls.settle(backend, rows.completed(token));
    await queue.queues.setLimits("a", { concurrency: 4 });
    await queue.queues.setLimits("a", {
      rateLimit: { limit: 10, intervalMs: 60_000 },
    });
    await queue.queues.pause("settings-only");
    let [a, b, settingsOnly] = await queue.queues.list();
    assert.deepEqual({ ...a }, {
      name: "a",
      paused: false,
      concurrency: 4,
      rateLimit: { limit: 10, intervalMs: 60_000 },
      counts: { queued: 3 },
      oldestQueuedAgeMs: 60_000,
      dueUnclaimed: 2,
    });
    assert.deepEqual({ ...b }, {
      name: "b",
      paused: false,
      concurrency: null,
      rateLimit: null,
      counts: { completed: 1 },
      oldestQueuedAgeMs: null,
      dueUnclaimed: 0,
    });
    assert.deepEqual({ ...settingsOnly }, {
      name: "settings-only",
      paused: true,
      concurrency: null,
      rateLimit: null,
      counts: {},
      oldestQueuedAgeMs: null,
      dueUnclaimed: 0,
    });
    await queue.queues.setLimits("a", { concurrency: null });
    a = await queue.queues.get("a");
    assert.equal(a.concurrency, null);
    assert.deepEqual(a.rateLimit, { limit: 10, intervalMs: 60_000 });
    await queue.queues.setLimits("a", {});
    assert.deepEqual((await queue.queues.get("a")).rateLimit, {
      limit: 10,
      intervalMs: 60_000,
    });
    await queue.queues.resume("settings-only");
    assert.equal((await queue.queues.get("settings-only")).paused, false);
    assert.deepEqual({ ...(await queue.queues.get("never-seen")) }, {
      name: "never-seen",
      paused: false,
      concurrency: null,
      rateLimit: null,
      counts: {},
      oldestQueuedAgeMs: null,
      dueUnclaimed: 0,
    });
  });

  if (factory.connections) {
    test("limits hold when claims on several connections race", async (t) => {
      const backends = [t.backend(), t.connect(), t.connect()];
      await backends[0]!.updateQueue("c", { concurrency: 3 }, T0);
      await backends[0]!.updateQueue(
        "r",
        { rateLimit: { limit: 4, intervalMs: 3_600_000 } },
        T0,
      );
      await backends[0]!.insertTasks([
        ...inQueue("c", 20),
        ...inQueue("r", 20),
      ]);
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          backends.flatMap((backend, n) =>
            [0, 1].map((k) =>
              calls.claim(backend, {
                workerId: `w${n}-${k}-${round}`,
                limit: 5,
              })
            )
          ),
        );
      }
      const running = await backends[0]!.listQueues(T0);
      assert.deepEqual(
        running.map((queue) => [queue.name, queue.counts.running]),
        [["c", 3], ["r", 4]],
      );
    });
  }

  test("a worker with queues ['a'] never runs tasks of 'b'; a worker with none runs every queue but a paused one, and that one once resumed", async (t) => {
    const queue = new t.sitq.TaskQueue(t.backend());
    const ran: string[] = [];
    const job = queue.task("job", (q: string) => {
      ran.push(q);
      return q;
    });
    const aIds = await queue.enqueueMany(job.with({ queue: "a" }), [
      ["a"],
      ["a"],
    ]);
    const bIds = await queue.enqueueMany(job.with({ queue: "b" }), [
      ["b"],
      ["b"],
    ]);
    const onlyA = queue.worker({ queues: ["a"], concurrency: 2 });
    await onlyA.start();
    for (const id of aIds) await queue.waitForResult(id, { timeout: 10_000 });
    await onlyA.stop();
    assert.deepEqual(ran, ["a", "a"]);
    assert.equal((await queue.queues.get("b")).counts.queued, 2);
    await queue.queues.pause("b");
    const cIds = await queue.enqueueMany(job.with({ queue: "c" }), [["c"]]);
    const all = queue.worker({ concurrency: 2, pollInterval: 50 });
    await all.start();
    await queue.waitForResult(cIds[0]!, { timeout: 10_000 });
    assert.equal((await queue.queues.get("b")).counts.queued, 2);
    await queue.queues.resume("b");
    for (const id of bIds) await queue.waitForResult(id, { timeout: 10_000 });
    await all.stop();
    assert.deepEqual(ran.sort(), ["a", "a", "b", "b", "c"]);
  });

  test(
    "workers wait for a full limited queue without spinning: a settle wakes them for a concurrency limit, the window's end for a rate limit",
    async (t) => {
      const backend = t.backend();
      let steps = 0;
      const counting = new Proxy(backend, {
        get(target, key) {
          const value = Reflect.get(target, key) as unknown;
          if (typeof value !== "function") return value;
          if (key === "settleAndClaim") {
            return (...args: unknown[]) => {
              steps++;
              return (value as (...a: unknown[]) => unknown).apply(
                target,
                args,
              );
            };
          }
          return (value as (...a: unknown[]) => unknown).bind(target);
        },
      });
      const queue = new t.sitq.TaskQueue(counting);
      let running = 0;
      let most = 0;
      // Tasks of "one" running at this moment, counted in the handler: the
      // stored times cannot show it, since a claim's time is read before
      // it waits for the queue's lock, so it may precede the previous
      // task's settlement by a few milliseconds.
      let runningOne = 0;
      let mostOne = 0;
      const job = queue.task("job", async (queueName: string) => {
        most = Math.max(most, ++running);
        if (queueName === "one") mostOne = Math.max(mostOne, ++runningOne);
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (queueName === "one") runningOne--;
        running--;
      });
      await queue.queues.setLimits("one", { concurrency: 1 });
      await queue.queues.setLimits("slow", {
        rateLimit: { limit: 2, intervalMs: 200 },
      });
      const ids = [
        ...await queue.enqueueMany(
          job.with({ queue: "one" }),
          Array.from({ length: 4 }, () => ["one"] as [string]),
        ),
        ...await queue.enqueueMany(
          job.with({ queue: "slow" }),
          Array.from({ length: 5 }, () => ["slow"] as [string]),
        ),
      ];
      // Polls far apart: only settles, changes and window ends wake them.
      const workers = [1, 2].map(() =>
        new t.sitq.Worker(counting, {
          tasks: [job],
          concurrency: 3,
          pollInterval: 60_000,
        })
      );
      for (const worker of workers) await worker.start();
      for (const id of ids) await queue.waitForResult(id, { timeout: 15_000 });
      for (const worker of workers) await worker.stop();
      assert.equal(most <= 3, true);
      // At most one "one" task ran at a time, across both workers.
      assert.equal(mostOne, 1);
      // A spinning worker would step thousands of times.
      assert.ok(steps < 200, `${steps} steps for ${ids.length} tasks`);
    },
    { timeout: 30_000 },
  );

  if (factory.family === "sqlite" && factory.connections) {
    test("a version 7 SQLite database is upgraded to queues and keeps its tasks in 'default'", async (t) => {
      const path = t.store().path!;
      await writeThenDowngrade(t, () =>
        withRawSqlite(path, (db) => {
          for (const sql of sqliteDowngradeTo7(db)) db.exec(sql);
        }));
      await upgradedKeepsTasks(t);
    });
  }

  if (factory.family === "postgres" && factory.connections) {
    test("a version 7 PostgreSQL schema is upgraded to queues and keeps its tasks in 'default'", async (t) => {
      const spec = t.store().spec as { url: string; schema: string };
      await writeThenDowngrade(
        t,
        () =>
          withRawPostgres(spec.url, async (client) => {
            await postgresDowngradeTo7(client, spec.schema);
          }),
      );
      await upgradedKeepsTasks(t);
    });
  }
}

/** The tables, their columns and the indexes of schema version 7. */
const V7_COLUMNS: Record<string, readonly string[]> = {
  sitq_meta: ["key", "value"],
  sitq_tasks: [
    "id",
    "name",
    "args",
    "status",
    "priority",
    "run_at",
    "attempts",
    "max_attempts",
    "timeout_ms",
    "worker_id",
    "lease_expires_at",
    "result",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "progress",
    "unique_key",
    "unique_for",
    "unique_released_at",
    "pending_parents",
    "cancelled_by",
  ],
  sitq_attempts: [
    "id",
    "task_id",
    "attempt",
    "worker_id",
    "started_at",
    "finished_at",
    "outcome",
    "error",
  ],
  sitq_dependencies: [
    "child_id",
    "parent_id",
    "position",
    "run_anyway",
    "satisfied",
  ],
  sitq_workers: [
    "worker_id",
    "names",
    "host",
    "pid",
    "started_at",
    "heartbeat_at",
  ],
};
const V7_INDEXES = new Set([
  "sitq_tasks_claim",
  "sitq_tasks_lease",
  "sitq_attempts_task",
  "sitq_tasks_next_run",
  "sitq_tasks_unique_key",
  "sitq_dependencies_parent",
]);

/**
 * The statements that take an SQLite store back to version 7, whatever
 * later versions added: their tables, indexes, triggers and columns go.
 */
function sqliteDowngradeTo7(
  db: { prepare(sql: string): { all(...params: unknown[]): unknown[] } },
): string[] {
  const objects = db.prepare(
    "select type, name, tbl_name from sqlite_master where name not like 'sqlite_%'",
  ).all() as Array<{ type: string; name: string; tbl_name: string }>;
  const statements: string[] = [];
  for (const object of objects) {
    if (object.type === "trigger") {
      statements.push(`drop trigger "${object.name}"`);
    }
    if (object.type === "index" && !V7_INDEXES.has(object.name)) {
      statements.push(`drop index "${object.name}"`);
    }
  }
  for (const object of objects) {
    if (object.type === "table" && !(object.name in V7_COLUMNS)) {
      statements.push(`drop table "${object.name}"`);
    }
  }
  for (const [table, columns] of Object.entries(V7_COLUMNS)) {
    const present = db.prepare(`pragma table_info("${table}")`).all() as Array<
      { name: string }
    >;
    for (const { name } of present) {
      if (!columns.includes(name)) {
        statements.push(`alter table "${table}" drop column "${name}"`);
      }
    }
  }
  statements.push(
    "update sitq_meta set value = '7' where key = 'schema_version'",
  );
  return statements;
}

/** Takes a PostgreSQL schema back to version 7, as for SQLite. */
async function postgresDowngradeTo7(
  client: {
    query(
      sql: string,
      params?: unknown[],
    ): Promise<{ rows: Array<Record<string, unknown>> }>;
  },
  schema: string,
): Promise<void> {
  const q = ident(schema);
  const { rows: tables } = await client.query(
    "select table_name from information_schema.tables where table_schema = $1",
    [schema],
  );
  for (const { table_name } of tables) {
    if (!((table_name as string) in V7_COLUMNS)) {
      await client.query(
        `drop table if exists ${q}.${ident(table_name as string)} cascade`,
      );
    }
  }
  const { rows: columns } = await client.query(
    "select table_name, column_name from information_schema.columns where table_schema = $1",
    [schema],
  );
  for (const { table_name, column_name } of columns) {
    const known = V7_COLUMNS[table_name as string];
    if (known !== undefined && !known.includes(column_name as string)) {
      await client.query(
        `alter table ${q}.${ident(table_name as string)} drop column ${
          ident(column_name as string)
        } cascade`,
      );
    }
  }
  const { rows: functions } = await client.query(
    `select p.oid::regprocedure::text as signature from pg_proc p
     join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1`,
    [schema],
  );
  for (const { signature } of functions) {
    await client.query(`drop function if exists ${signature} cascade`);
  }
  await client.query(
    `update ${q}.sitq_meta set value = '7' where key = 'schema_version'`,
  );
}

/** Writes two tasks through a first backend, closes it, then downgrades. */
async function writeThenDowngrade(
  t: TestContext,
  downgrade: () => Promise<void>,
): Promise<void> {
  const first = t.connect();
  const queue = new t.sitq.TaskQueue(first);
  const job = queue.task("job", (n: number) => n);
  await queue.enqueue(job, 1);
  await queue.enqueue(job.with({ delay: 3_600_000 }), 2);
  await first.close();
  await downgrade();
}

/** Opens the store anew: its tasks are in "default", and queues work. */
async function upgradedKeepsTasks(t: TestContext): Promise<void> {
  const backend = t.backend();
  const queue = new t.sitq.TaskQueue(backend);
  const job = queue.task("job", (n: number) => n);
  const page = await queue.listTasks();
  assert.deepEqual(
    page.tasks.map((task) => [task.args, task.queue]),
    [[[2], "default"], [[1], "default"]],
  );
  const [info] = await queue.queues.list();
  assert.deepEqual([info?.name, info?.counts.queued, info?.dueUnclaimed], [
    "default",
    2,
    1,
  ]);
  await queue.queues.pause("default");
  const other = await queue.enqueue(job.with({ queue: "other" }), 3);
  const worker = queue.worker({ pollInterval: 50 });
  await worker.start();
  const result = await queue.waitForResult(other, { timeout: 10_000 });
  assert.equal(result.status, "completed");
  await worker.stop();
  assert.equal((await queue.queues.get("default")).counts.queued, 2);
}
