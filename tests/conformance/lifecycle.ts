/**
 * A backend's life and its connections: it opens on first use, `open` and
 * `close` may be repeated, a closed backend refuses every use with
 * `DatabaseError` CLOSED, and what one connection commits the others read at
 * once and after it has closed.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend } from "../../lib/storage/backend.ts";
import type { Suite, TestContext } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** One call of every Backend method that reaches the database. */
function everyCall(backend: Backend): [string, () => Promise<unknown>][] {
  const token = { id: 1, workerId: "w1", attempt: 1 };
  return [
    ["open", () => backend.open()],
    ["insertTasks", () => backend.insertTasks([rows.newTask()])],
    ["settleAndClaim", () => backend.settleAndClaim([], rows.claimRequest())],
    ["renewLeases", () => backend.renewLeases([token], T0)],
    ["recoverExpiredLeases", () => backend.recoverExpiredLeases(T0, "{}")],
    ["saveProgress", () => backend.saveProgress(token, "1")],
    ["getTask", () => backend.getTask(1)],
    ["getAttempts", () => backend.getAttempts(1)],
    ["listTasks", () => backend.listTasks({ limit: 1 })],
    ["countByStatus", () => backend.countByStatus()],
    ["countByName", () => backend.countByName()],
    [
      "countDueExcept",
      () => backend.countDueExcept({ names: [], now: T0, limit: 1 }),
    ],
    ["cancel", () => backend.cancel(1, T0)],
    ["requeue", () => backend.requeue(1, T0)],
    ["prune", () => backend.prune(["completed"], T0)],
  ];
}

/** Asserts that `error` is sitq's DatabaseError with code CLOSED. */
function expectClosed(t: TestContext, error: unknown, call: string): boolean {
  assert.ok(error instanceof t.sitq.DatabaseError, `${call}: ${error}`);
  assert.equal(error.code, "CLOSED", call);
  return true;
}

/** Registers the lifecycle and connection tests. */
export function lifecycleTests({ test, factory }: Suite): void {
  test("a backend opens on first use, and open() may be called again", async (t) => {
    const backend = t.backend();
    assert.deepEqual(await backend.countByStatus(), {});
    await backend.open();
    await Promise.all([backend.open(), backend.open()]);
    const id = await calls.insertOne(backend);
    assert.equal((await calls.taskRow(backend, id)).status, "queued");
  });

  test("close() may be called twice, and every use after it fails with DatabaseError CLOSED", async (t) => {
    const backend = t.backend();
    await calls.insertOne(backend);
    await backend.close();
    await backend.close();
    for (const [call, run] of everyCall(backend)) {
      await assert.rejects(run(), (error) => expectClosed(t, error, call));
    }
  });

  test("a backend closed before it was ever used refuses use with CLOSED", async (t) => {
    const backend = t.backend();
    await backend.close();
    await assert.rejects(
      backend.insertTasks([rows.newTask()]),
      (error) => expectClosed(t, error, "insertTasks"),
    );
  });

  if (factory.connections) {
    test("what one connection commits, another reads at once", async (t) => {
      const a = t.connect();
      const b = t.connect();
      const id = await calls.insertOne(a, { args: '["from a"]' });
      assert.equal((await calls.taskRow(b, id)).args, '["from a"]');
      const token = await calls.claimOne(b, { workerId: "wb" });
      assert.equal((await calls.taskRow(a, id)).worker_id, "wb");
      assert.equal(
        await calls.settle(a, rows.completed(token, '"via a"')),
        true,
      );
      assert.equal((await calls.taskRow(b, id)).result, '"via a"');
      assert.deepEqual(
        await calls.statusCounts(b),
        rows.counts({ completed: 1 }),
      );
    });

    test("tasks outlive the backend that wrote them", async (t) => {
      const writer = t.connect();
      const ids = await writer.insertTasks(
        rows.tasks(50),
      );
      const token = await calls.claimOne(writer);
      assert.equal(await calls.settle(writer, rows.completed(token)), true);
      await writer.close();
      const reader = t.connect();
      assert.deepEqual(
        await calls.statusCounts(reader),
        rows.counts({ queued: 49, completed: 1 }),
      );
      assert.equal((await calls.taskRow(reader, ids[49]!)).args, "[49]");
      const more = await calls.insertOne(reader);
      assert.ok(more > ids[49]!, "ids go on from the last one");
    });
  }
}
