/**
 * Interrupted attempts: a worker that stops gives its task back to the queue
 * at once (not after a lease expiry), and the attempt does not count toward
 * `maxAttempts`; the history still records it.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** Registers the interruption tests. */
export function interruptionTests({ test }: Suite): void {
  test("an interrupted attempt goes back to the queue at once and does not count", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, {
      maxAttempts: 1,
      runAt: T0 - 10,
    });
    const token = await calls.claimOne(backend, { workerId: "w1" });
    const error = rows.storedError("worker stopping", "InterruptedError");
    assert.equal(
      await calls.settle(backend, rows.interrupted(token, error)),
      true,
    );
    const row = await calls.taskRow(backend, id);
    assert.equal(row.status, "queued");
    assert.equal(row.attempts, 0);
    assert.equal(row.run_at, T0 - 10);
    assert.equal(row.lease_expires_at, null);
    assert.equal(row.finished_at, null);
    assert.deepEqual(await calls.attemptRows(backend, id), [{
      task_id: id,
      attempt: 1,
      worker_id: "w1",
      started_at: T0,
      finished_at: T0 + 5,
      outcome: "interrupted",
      error,
    }]);
    // Its only attempt is still to come.
    const next = await calls.claimOne(backend, { workerId: "w2" });
    assert.deepEqual(next, { id, workerId: "w2", attempt: 1 });
    assert.equal(await calls.settle(backend, rows.completed(next)), true);
    assert.equal((await calls.taskRow(backend, id)).status, "completed");
  });

  test("an interrupted retry keeps the attempts made before it", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { maxAttempts: 2 });
    const first = await calls.claimOne(backend);
    assert.equal(
      await calls.settle(backend, rows.failed(first, T0 + 10)),
      true,
    );
    const second = await calls.claimOne(backend, { now: T0 + 10 });
    assert.equal(second.attempt, 2);
    assert.equal(await calls.settle(backend, rows.interrupted(second)), true);
    assert.equal((await calls.taskRow(backend, id)).attempts, 1);
    const third = await calls.claimOne(backend, { now: T0 + 10 });
    assert.equal(third.attempt, 2, "the interrupted attempt was given back");
    assert.deepEqual(
      (await calls.attemptRows(backend, id)).map((
        a,
      ) => [a.attempt, a.outcome]),
      [[1, "failed"], [2, "interrupted"]],
    );
  });
}
