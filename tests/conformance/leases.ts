/**
 * Leases: a claim's lease, heartbeats (renewLeases), and recovery of expired
 * leases (recoverExpiredLeases): the task is queued again, or failed when
 * that was its last attempt, and the lost attempt is recorded.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

const LOST = rows.storedError("the lease expired", "LeaseExpiredError");

/** Registers the lease tests. */
export function leaseTests({ test, factory }: Suite): void {
  test("renewLeases extends the leases its tokens still fence and returns their ids", async (t) => {
    const backend = t.backend();
    await backend.insertTasks([
      rows.newTask(),
      rows.newTask(),
      rows.newTask(),
    ]);
    const [a, b, c] = await calls.claim(backend, { leaseDuration: 1000 });
    const token = (id: number) => ({ id, workerId: "w1", attempt: 1 });
    assert.equal(
      await calls.settle(backend, rows.completed(token(c!.id))),
      true,
    );
    const renewed = await backend.renewLeases(
      [token(a!.id), token(b!.id), token(c!.id)],
      T0 + 5000,
    );
    assert.deepEqual([...renewed].sort(), [a!.id, b!.id].sort());
    assert.equal(
      (await calls.taskRow(backend, a!.id)).lease_expires_at,
      T0 + 5000,
    );
    assert.equal(
      (await calls.taskRow(backend, b!.id)).lease_expires_at,
      T0 + 5000,
    );
    // A finished task holds no lease, and a renewal gives it none.
    assert.equal(
      (await calls.taskRow(backend, c!.id)).lease_expires_at,
      null,
    );
    assert.equal((await backend.renewLeases([], T0 + 9000)).size, 0);
  });

  test("recoverExpiredLeases queues a task whose lease expired before now again, with a lost attempt", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { runAt: T0 - 50 });
    await calls.claimOne(backend, { workerId: "w1", leaseDuration: 1000 });
    // A lease expiring at now itself still holds.
    assert.deepEqual(await backend.recoverExpiredLeases(T0 + 1000, LOST), []);
    assert.deepEqual(
      await backend.recoverExpiredLeases(T0 + 1001, LOST),
      [id],
    );
    const row = await calls.taskRow(backend, id);
    assert.equal(row.status, "queued");
    assert.equal(row.attempts, 1, "the lost attempt counts");
    assert.equal(row.lease_expires_at, null);
    assert.equal(row.error, LOST);
    assert.equal(row.finished_at, null);
    assert.equal(row.run_at, T0 - 50, "claimable at once");
    assert.deepEqual(await calls.attemptRows(backend, id), [{
      task_id: id,
      attempt: 1,
      worker_id: "w1",
      started_at: T0,
      finished_at: T0 + 1001,
      outcome: "lost",
      error: LOST,
    }]);
    const next = await calls.claimOne(backend, {
      workerId: "w2",
      now: T0 + 1002,
    });
    assert.deepEqual(next, { id, workerId: "w2", attempt: 2 });
  });

  test("recoverExpiredLeases fails a task whose expired lease was its last attempt", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { maxAttempts: 2 });
    const first = await calls.claimOne(backend, { leaseDuration: 10 });
    assert.deepEqual(await backend.recoverExpiredLeases(T0 + 11, LOST), [id]);
    await calls.claimOne(backend, { leaseDuration: 10, now: T0 + 20 });
    assert.deepEqual(await backend.recoverExpiredLeases(T0 + 31, LOST), [id]);
    const row = await calls.taskRow(backend, id);
    assert.equal(row.status, "failed");
    assert.equal(row.attempts, 2);
    assert.equal(row.finished_at, T0 + 31);
    assert.equal(row.error, LOST);
    assert.equal(row.lease_expires_at, null);
    assert.deepEqual(
      (await calls.attemptRows(backend, id)).map((
        a,
      ) => [a.attempt, a.outcome]),
      [[1, "lost"], [2, "lost"]],
    );
    assert.deepEqual(await calls.claim(backend, { now: T0 + 1e6 }), []);
    assert.equal(first.attempt, 1);
  });

  test("a renewed lease is not recovered while the renewal holds", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend);
    const token = await calls.claimOne(backend, { leaseDuration: 1000 });
    assert.deepEqual([...await backend.renewLeases([token], T0 + 5000)], [
      id,
    ]);
    assert.deepEqual(await backend.recoverExpiredLeases(T0 + 4999, LOST), []);
    assert.equal((await calls.taskRow(backend, id)).status, "running");
    assert.deepEqual(
      await backend.recoverExpiredLeases(T0 + 5001, LOST),
      [id],
    );
  });

  test("recoverExpiredLeases returns every task it recovered, and leaves queued and finished tasks alone", async (t) => {
    const backend = t.backend();
    const ids = await backend.insertTasks(
      rows.tasks(5),
    );
    const [done, ...running] = await calls.claim(backend, {
      limit: 4,
      leaseDuration: 100,
    });
    const doneToken = { id: done!.id, workerId: "w1", attempt: 1 };
    assert.equal(
      await calls.settle(backend, rows.completed(doneToken)),
      true,
    );
    const recovered = await backend.recoverExpiredLeases(T0 + 1e6, LOST);
    assert.deepEqual(
      [...recovered].sort(),
      running.map((task) => task.id).sort(),
    );
    assert.equal(
      (await calls.taskRow(backend, done!.id)).status,
      "completed",
    );
    assert.equal((await calls.taskRow(backend, ids[4]!)).status, "queued");
    assert.deepEqual(await calls.attemptRows(backend, ids[4]!), []);
    assert.deepEqual(await backend.recoverExpiredLeases(T0 + 2e6, LOST), []);
  });

  if (factory.connections) {
    test("a lease taken through one connection is renewed through it and recovered through another", async (t) => {
      const owner = t.connect();
      const other = t.connect();
      const id = await calls.insertOne(owner);
      const token = await calls.claimOne(owner, { leaseDuration: 1000 });
      assert.equal((await owner.renewLeases([token], T0 + 3000)).size, 1);
      assert.deepEqual(await other.recoverExpiredLeases(T0 + 2000, LOST), []);
      assert.deepEqual(
        await other.recoverExpiredLeases(T0 + 3001, LOST),
        [id],
      );
      assert.equal((await calls.taskRow(owner, id)).status, "queued");
    });
  }
}
