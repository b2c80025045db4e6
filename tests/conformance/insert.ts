/**
 * Insert and ordering: ids in enqueue order, rows stored as given, one
 * transaction per batch, and claims in queue order (higher priority first,
 * then earlier run time, then enqueue order).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** Registers the insert and ordering tests. */
export function insertTests({ test, factory }: Suite): void {
  test("insertTasks returns one increasing id per task, in order, and stores each as given", async (t) => {
    const backend = t.backend();
    const tasks = [
      rows.newTask({ name: "a", args: '["x"]', priority: 2, maxAttempts: 1 }),
      rows.newTask({
        name: "b",
        runAt: T0 + 500,
        timeout: 1500,
        createdAt: T0,
      }),
      rows.newTask({ name: "c", priority: -3, createdAt: T0 - 7 }),
    ];
    const ids = await backend.insertTasks(tasks);
    assert.equal(ids.length, 3);
    assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!, `${ids} increase`);
    for (const [index, row] of tasks.entries()) {
      assert.deepEqual(await calls.taskRow(backend, ids[index]!), {
        id: ids[index],
        name: row.name,
        queue: "default",
        args: row.args,
        status: "queued",
        priority: row.priority,
        run_at: row.runAt,
        attempts: 0,
        max_attempts: row.maxAttempts,
        timeout_ms: row.timeout,
        worker_id: null,
        lease_expires_at: null,
        result: null,
        error: null,
        progress: null,
        created_at: row.createdAt,
        started_at: null,
        finished_at: null,
        unique_key: null,
        unique_for: null,
        unique_released_at: null,
        pending_parents: 0,
        cancelled_by: null,
      });
    }
  });

  test("insertTasks of no tasks returns [] and writes nothing", async (t) => {
    const backend = t.backend();
    assert.deepEqual(await backend.insertTasks([]), []);
    assert.deepEqual(await backend.countByStatus(), {});
  });

  test("insertTasks of 1,200 tasks in one call keeps their order", async (t) => {
    const backend = t.backend();
    const ids = await backend.insertTasks(
      rows.tasks(1200),
    );
    assert.equal(ids.length, 1200);
    assert.ok(ids.every((id, n) => n === 0 || id > ids[n - 1]!));
    for (const n of [0, 499, 500, 999, 1000, 1199]) {
      assert.equal((await calls.taskRow(backend, ids[n]!)).args, `[${n}]`);
    }
    assert.equal((await calls.statusCounts(backend)).queued, 1200);
  });

  test("insertTasks is one transaction: a batch with one bad row inserts none", async (t) => {
    const backend = t.backend();
    const bad = rows.newTask({ name: null as unknown as string });
    const batch = [...rows.tasks(700), bad];
    await assert.rejects(backend.insertTasks(batch));
    assert.deepEqual(await backend.countByStatus(), {});
    // The failed batch left nothing behind that blocks the next one.
    assert.equal((await backend.insertTasks([rows.newTask()])).length, 1);
  });

  test("claims take higher priority first, then earlier run time, then enqueue order", async (t) => {
    const backend = t.backend();
    const order = [
      rows.newTask({ args: '["p0 late"]', priority: 0, runAt: T0 - 1 }),
      rows.newTask({ args: '["p5 second"]', priority: 5, runAt: T0 - 10 }),
      rows.newTask({ args: '["p0 early"]', priority: 0, runAt: T0 - 30 }),
      rows.newTask({ args: '["p5 first"]', priority: 5, runAt: T0 - 20 }),
      rows.newTask({ args: '["p-1"]', priority: -1, runAt: T0 - 99 }),
      rows.newTask({ args: '["p5 third"]', priority: 5, runAt: T0 - 10 }),
      rows.newTask({
        args: '["p0 late, after"]',
        priority: 0,
        runAt: T0 - 1,
      }),
    ];
    await backend.insertTasks(order);
    const expected = [
      '["p5 first"]',
      '["p5 second"]',
      '["p5 third"]',
      '["p0 early"]',
      '["p0 late"]',
      '["p0 late, after"]',
      '["p-1"]',
    ];
    const oneByOne: string[] = [];
    for (let n = 0; n < order.length; n++) {
      const [task] = await calls.claim(backend, {
        limit: 1,
        workerId: `w${n}`,
      });
      oneByOne.push(task!.args);
    }
    assert.deepEqual(oneByOne, expected);
  });

  test("a claim of several tasks hands them out in queue order", async (t) => {
    const backend = t.backend();
    await backend.insertTasks([
      rows.newTask({ args: '["c"]', priority: 1, runAt: T0 - 1 }),
      rows.newTask({ args: '["d"]', priority: 1, runAt: T0 - 1 }),
      rows.newTask({ args: '["a"]', priority: 9 }),
      rows.newTask({ args: '["e"]', priority: 0, runAt: T0 - 50 }),
      rows.newTask({ args: '["b"]', priority: 1, runAt: T0 - 2 }),
    ]);
    const claimed = await calls.claim(backend, { limit: 4 });
    assert.deepEqual(claimed.map((task) => task.args), [
      '["a"]',
      '["b"]',
      '["c"]',
      '["d"]',
    ]);
  });

  if (factory.connections) {
    test("tasks inserted through two connections are claimed in the order they were inserted", async (t) => {
      const a = t.connect();
      const b = t.connect();
      const inserted: number[] = [];
      for (let n = 0; n < 6; n++) {
        inserted.push(
          await calls.insertOne(n % 2 === 0 ? a : b, { args: `[${n}]` }),
        );
      }
      const claimed = await calls.claim(b, { limit: 6 });
      assert.deepEqual(claimed.map((task) => task.id), inserted);
      assert.deepEqual(
        claimed.map((task) => task.args),
        ["[0]", "[1]", "[2]", "[3]", "[4]", "[5]"],
      );
    });
  }
}
