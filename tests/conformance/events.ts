/**
 * Task events (schema v9): the Backend's registry of subscribers (a
 * registered row makes writes store events, a removed one stops them) and
 * the queue's `subscribe()`: every event of every write path, each once, in
 * order per task, filters, `close()`; and across processes, a subscriber in
 * a third process that sees every event of tasks enqueued in a second one
 * and run by a worker in a fourth.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { TaskEvent } from "../../lib/core/task_events.ts";
import type { Backend, EventRow } from "../../lib/storage/backend.ts";
import {
  type Claimer,
  describeClaimer,
  ready,
  spawnClaimer,
} from "./claim_processes.ts";
import type { Suite, TestContext } from "./harness.ts";
import * as calls from "./calls.ts";
import { withRawPostgres } from "./raw_postgres.ts";
import { withRawSqlite } from "./raw_sqlite.ts";

const PROCESS = fileURLToPath(
  new URL("../fixtures/task_events_process.mjs", import.meta.url),
);

/** Polls `check` every 20 ms until it holds; the test's hang guard bounds it. */
async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * How many event rows the store holds now: on SQLite, every event read
 * from cursor 0 (ids are in commit order there); on PostgreSQL, a count
 * on a raw connection (a read goes only up to the server's oldest running
 * transaction, which another test may hold back).
 */
async function storedEvents(t: TestContext, backend: Backend): Promise<number> {
  const spec = t.store().spec;
  if (spec?.backend !== "postgres") {
    return (await backend.readEvents(0, 1_000_000)).events.length;
  }
  return await withRawPostgres(spec.url, async (client) => {
    const { rows } = await client.query(
      `select count(*)::int as n from "${spec.schema}".sitq_events`,
    );
    return (rows[0] as { n: number }).n;
  });
}

/**
 * SQLite files: how many event triggers the file holds (they exist only
 * while a subscriber row does); undefined elsewhere.
 */
async function eventTriggers(t: TestContext): Promise<number | undefined> {
  const path = t.store().path;
  if (t.factory.family !== "sqlite" || path === undefined) return undefined;
  return await withRawSqlite(path, (db) =>
    (db.prepare(
      "select count(*) as n from sqlite_master where type = 'trigger' and name like 'sitq_events%'",
    ).all()[0] as { n: number }).n);
}

/** `type` per task id, in delivery order. */
function perTask(events: readonly { taskId: number; type: string }[]) {
  const byTask = new Map<number, string[]>();
  for (const event of events) {
    byTask.set(event.taskId, [...(byTask.get(event.taskId) ?? []), event.type]);
  }
  return byTask;
}

/**
 * Asserts each event came once (ids unique). Order is asserted per task;
 * ids increase in delivery order on SQLite only (PostgreSQL hands them out
 * before commit: see lib/storage/events_schema.ts).
 */
function assertOnce(events: readonly { id: number }[]): void {
  const ids = events.map((event) => event.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate event ids: ${ids}`);
}

/** The events `child` printed so far. */
function printed(child: Claimer): TaskEvent[] {
  return child.stdout.split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { event?: TaskEvent })
    .flatMap((line) => line.event === undefined ? [] : [line.event]);
}

/** Spawns a fixture process in `role` and waits for its "ready". */
async function spawnRole(
  t: TestContext,
  config: Record<string, unknown>,
): Promise<Claimer> {
  const child = spawnClaimer(
    { store: t.store().spec, ...config },
    t.sitqModule,
    PROCESS,
  );
  t.defer(() => child.proc.kill("SIGKILL"));
  if (config.role !== "producer") {
    await ready(child).catch((error) => {
      throw new Error(`${error}\n${describeClaimer(child)}`);
    });
  }
  return child;
}

/** The events each kind of task of the fixture worker makes, in order. */
const LIFE: Record<string, string[]> = {
  step: ["enqueued", "started", "progress", "completed"],
  flaky: ["enqueued", "started", "retrying", "started", "completed"],
  doomed: ["enqueued", "started", "retrying", "started", "failed"],
};

/** Registers the task-event tests. */
export function eventTests({ test, factory }: Suite): void {
  test("events are stored only while a subscriber row lives, and read once after the cursor", async (t) => {
    const backend = t.backend();
    await calls.insertOne(backend);
    assert.equal(await storedEvents(t, backend), 0);
    assert.equal(await eventTriggers(t) ?? 0, 0);
    const cursor = await backend.registerSubscriber({
      id: "s1",
      startedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    const id = await calls.insertOne(backend, { name: "x" });
    const token = await calls.claimOne(backend, { names: ["x"] });
    assert.equal(await backend.saveProgress(token, '"half"'), true);
    // PostgreSQL delivers an event once every older write transaction on
    // the server has ended (other tests' too): read until all three came.
    const page = { events: [] as EventRow[], cursor };
    while (page.events.length < 3) {
      const next = await backend.readEvents(page.cursor, 100);
      page.events.push(...next.events);
      page.cursor = next.cursor;
      if (page.events.length < 3) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    assert.deepEqual(
      page.events.map((event) => [event.taskId, event.type, event.progress]),
      [[id, "enqueued", null], [id, "started", null], [
        id,
        "progress",
        '"half"',
      ]],
    );
    assert.deepEqual((await backend.readEvents(page.cursor, 100)).events, []);
    const beat = () =>
      backend.heartbeatSubscriber({
        id: "s1",
        cursor: page.cursor,
        now: Date.now(),
        expiresAt: Date.now() + 60_000,
        retainAfter: 0,
      });
    assert.equal(await beat(), true);
    assert.notEqual(await eventTriggers(t), 0);
    await backend.removeSubscriber("s1", Date.now());
    assert.equal(await beat(), false);
    // SQLite: no subscriber, no trigger: writes pay nothing.
    assert.equal(await eventTriggers(t) ?? 0, 0);
    const before = await storedEvents(t, backend);
    await calls.insertOne(backend);
    assert.equal(await storedEvents(t, backend), before);
    // A dead row (expired: a killed process) stores nothing either.
    await backend.registerSubscriber({
      id: "dead",
      startedAt: Date.now(),
      expiresAt: Date.now() - 1,
    });
    await calls.insertOne(backend);
    assert.equal(await storedEvents(t, backend), before);
  });

  test("subscribe delivers every event of a worker's tasks once, in order per task, and filters by type, name and queue", async (t) => {
    const { sitq } = t;
    const queue = new sitq.TaskQueue(t.backend());
    const all: TaskEvent[] = [];
    const filtered: TaskEvent[] = [];
    const subscription = await queue.subscribe((event) => all.push(event));
    const narrow = await queue.subscribe((event) => filtered.push(event), {
      types: ["completed", "failed"],
      names: ["step"],
      queues: ["default"],
    });
    const step = queue.task("step", async function (n: number) {
      await this.reportProgress({ n });
      return n * 2;
    });
    const flaky = queue.task("flaky", function (n: number) {
      if (this.attempt === 1) throw new Error(`flaky ${n}`);
      return n;
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
    const doomed = queue.task("doomed", function (n: number) {
      throw new Error(`doomed ${n}`);
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
    const ids = {
      step: [await queue.enqueue(step, 1), await queue.enqueue(step, 2)],
      flaky: await queue.enqueueMany(flaky, [[1], [2]]),
      doomed: [await queue.enqueue(doomed, 1)],
    };
    const other = await queue.enqueue(step.with({ queue: "other" }), 3);
    const worker = queue.worker({ concurrency: 3, pollInterval: 50 });
    await worker.start();
    const expected = new Map<number, string[]>();
    for (const [kind, list] of Object.entries(ids)) {
      for (const id of list) expected.set(Number(id), LIFE[kind]!);
    }
    expected.set(Number(other), LIFE.step!);
    try {
      await waitFor(() => {
        const seen = perTask(all);
        return [...expected].every(([id, life]) =>
          seen.get(id)?.length === life.length
        );
      });
    } finally {
      await worker.stop();
    }
    await queue.cancel(await queue.enqueue(step.with({ delay: 60_000 }), 9));
    await waitFor(() => all.at(-1)?.type === "cancelled");
    const seen = perTask(all);
    for (const [id, life] of expected) assert.deepEqual(seen.get(id), life);
    assertOnce(all);
    const argument = new Map([
      [Number(ids.step[0]), 1],
      [Number(ids.step[1]), 2],
      [Number(other), 3],
    ]);
    const progress = all.filter((event) => event.type === "progress");
    assert.equal(progress.length, 3);
    for (const event of progress) {
      assert.deepEqual(event.progress, { n: argument.get(event.taskId) });
    }
    const failed = all.find((event) => event.type === "failed");
    assert.equal(failed?.error?.message, "doomed 1");
    assert.equal(failed?.attempt, 2);
    assert.equal(all.find((event) => event.taskId === other)?.queue, "other");
    assert.ok(all.every((event) => event.at instanceof Date));
    // The narrow one: completions of "step" in "default" only.
    await waitFor(() => filtered.length >= 2);
    // Concurrent: in either order.
    assert.deepEqual(
      filtered.map((event) => [event.taskId, event.type]).sort(),
      ids.step.map((id) => [id, "completed"]).sort(),
    );
    const count = all.length;
    await subscription.close();
    await narrow.close();
    await subscription.close(); // idempotent
    const before = await storedEvents(t, t.backend());
    await queue.enqueue(step.with({ delay: 60_000 }), 10);
    assert.equal(all.length, count);
    // No subscriber is left: the write stored no event.
    assert.equal(await storedEvents(t, t.backend()), before);
    await queue.close();
  });

  test("enqueues (plain, keyed, many, graph), requeue, bulk cancel and a workflow's cascade are events", async (t) => {
    const { sitq } = t;
    const queue = new sitq.TaskQueue(t.backend());
    const events: TaskEvent[] = [];
    const subscription = await queue.subscribe((event) => events.push(event));
    const task = queue.task("t", () => 1);
    const keyed = await queue.enqueue(
      task.with({ uniqueKey: "k", delay: 60_000 }),
    );
    await queue.enqueue(task.with({ uniqueKey: "k", delay: 60_000 })); // kept: no event
    const many = await queue.enqueueMany(task.with({ delay: 60_000 }), [
      [],
      [],
    ]);
    const [plain] = await t.backend().insertTasks([{
      name: "t",
      args: "[]",
      priority: 0,
      runAt: Date.now() + 60_000,
      maxAttempts: 1,
      timeout: null,
      createdAt: Date.now(),
    }]);
    const [parent, child] = await t.backend().insertGraph([
      {
        name: "t",
        args: "[]",
        priority: 0,
        runAt: Date.now() + 60_000,
        maxAttempts: 1,
        timeout: null,
        createdAt: Date.now(),
        parents: [],
      },
      {
        name: "t",
        args: "[]",
        priority: 0,
        runAt: Date.now() + 60_000,
        maxAttempts: 1,
        timeout: null,
        createdAt: Date.now(),
        parents: [{ index: 0, runAnyway: false }],
      },
    ]);
    await queue.cancel(parent!);
    // keyed, the two of `many`, `plain`.
    assert.equal(await queue.cancelTasks({ status: "queued" }), 4);
    await queue.requeue(keyed);
    await waitFor(() =>
      events.filter((event) => event.taskId === keyed).length === 3
    );
    await subscription.close();
    const seen = perTask(events);
    assert.deepEqual(seen.get(Number(keyed)), [
      "enqueued",
      "cancelled",
      "enqueued",
    ]);
    for (const id of [...many, plain!]) {
      assert.deepEqual(seen.get(Number(id)), ["enqueued", "cancelled"]);
    }
    assert.deepEqual(seen.get(parent!), ["enqueued", "cancelled"]);
    assert.deepEqual(seen.get(child!), ["enqueued", "cancelled"]);
    assertOnce(events);
    await queue.close();
  });

  if (!factory.processes) return;

  test(
    "a subscriber in a third process sees every event of tasks enqueued in a second and run by a worker process, once and in order; close stops it",
    async (t) => {
      const store = t.store();
      await store.backend.open();
      const everything = await spawnRole(t, { role: "subscriber" });
      const narrow = await spawnRole(t, {
        role: "subscriber",
        options: { types: ["completed"], names: ["step"] },
      });
      const worker = await spawnRole(t, { role: "worker" });
      const producer = await spawnRole(t, {
        role: "producer",
        tasks: [
          ["step", [1]],
          ["flaky", [2]],
          ["doomed", [3]],
          ["step", [4]],
        ],
      });
      assert.equal(await producer.exited, 0, describeClaimer(producer));
      const line = producer.stdout.split("\n").find((l) => l.startsWith("{"))!;
      const ids = (JSON.parse(line) as { ids: number[] }).ids;
      const kinds = ["step", "flaky", "doomed", "step"];
      await waitFor(() => {
        const seen = perTask(printed(everything));
        return ids.every((id, i) =>
          (seen.get(id)?.length ?? 0) >= LIFE[kinds[i]!]!.length
        );
      }).catch((error) => {
        throw new Error(
          `${error}\n${describeClaimer(everything)}\n${
            describeClaimer(worker)
          }`,
        );
      });
      await waitFor(() => printed(narrow).length >= 2);
      // Let both subscribers close, then check nothing more came.
      everything.proc.stdin!.write("close\n");
      narrow.proc.stdin!.write("close\n");
      assert.equal(await everything.exited, 0, describeClaimer(everything));
      assert.equal(await narrow.exited, 0, describeClaimer(narrow));
      const all = printed(everything);
      const seen = perTask(all);
      ids.forEach((id, i) => assert.deepEqual(seen.get(id), LIFE[kinds[i]!]));
      assert.equal(
        all.length,
        ids.reduce((n, _, i) => n + LIFE[kinds[i]!]!.length, 0),
      );
      assertOnce(all);
      assert.deepEqual(
        printed(narrow).map((event) => [event.taskId, event.type]).sort(),
        [[ids[0], "completed"], [ids[3], "completed"]].sort(),
      );
      // Both rows are gone: a new task stores no event.
      const before = await storedEvents(t, store.backend);
      const queue = new t.sitq.TaskQueue(store.backend);
      const step = t.sitq.declareTask<[number], number>("step");
      queue.declare(step);
      const late = await queue.enqueue(step, 5);
      await queue.waitForResult(late, { timeout: 15_000 });
      assert.equal(await storedEvents(t, store.backend), before);
      worker.proc.stdin!.write("stop\n");
      assert.equal(await worker.exited, 0, describeClaimer(worker));
    },
    { timeout: 60_000 },
  );
}
