/**
 * Settlements: a completed attempt stores its result; a failed or timed-out
 * one either queues the task again for its retry time (backoff) or fails it
 * for good; every applied settlement adds one history row; and
 * settleAndClaim settles before it claims, in one call.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** Registers the settlement tests. */
export function settlementTests({ test }: Suite): void {
  test("a completed attempt stores its result, ends the task and is recorded", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend);
    const token = await calls.claimOne(backend, { workerId: "w9" });
    const span = { startedAt: T0 + 1, finishedAt: T0 + 40 };
    assert.equal(
      await calls.settle(backend, rows.completed(token, '{"ok":true}', span)),
      true,
    );
    const row = await calls.taskRow(backend, id);
    assert.equal(row.status, "completed");
    assert.equal(row.result, '{"ok":true}');
    assert.equal(row.finished_at, T0 + 40);
    assert.equal(row.lease_expires_at, null);
    assert.equal(row.attempts, 1);
    assert.equal(row.worker_id, "w9", "the worker that ran it last");
    assert.deepEqual(await calls.attemptRows(backend, id), [{
      task_id: id,
      attempt: 1,
      worker_id: "w9",
      started_at: T0 + 1,
      finished_at: T0 + 40,
      outcome: "completed",
      error: null,
    }]);
    assert.deepEqual(await calls.claim(backend, { now: T0 + 1e6 }), []);
  });

  for (const outcome of ["failed", "timed_out"] as const) {
    test(`a ${outcome} attempt with a retry time queues the task again, not claimable before then`, async (t) => {
      const backend = t.backend();
      const id = await calls.insertOne(backend);
      const token = await calls.claimOne(backend);
      const error = rows.storedError(`${outcome} once`);
      const retryAt = T0 + 2000;
      assert.equal(
        await calls.settle(
          backend,
          rows.failed(token, retryAt, error, outcome),
        ),
        true,
      );
      const row = await calls.taskRow(backend, id);
      assert.equal(row.status, "queued");
      assert.equal(row.run_at, retryAt);
      assert.equal(row.error, error);
      assert.equal(row.attempts, 1);
      assert.equal(row.finished_at, null);
      assert.equal(row.lease_expires_at, null);
      assert.deepEqual(
        (await calls.attemptRows(backend, id)).map((
          a,
        ) => [a.outcome, a.error]),
        [[outcome, error]],
      );
      assert.deepEqual(await calls.claim(backend, { now: retryAt - 1 }), []);
      const again = await calls.claimOne(backend, { now: retryAt });
      assert.deepEqual(again, { ...token, attempt: 2 });
    });

    test(`a ${outcome} attempt without a retry time fails the task for good`, async (t) => {
      const backend = t.backend();
      const id = await calls.insertOne(backend);
      const token = await calls.claimOne(backend);
      const error = rows.storedError(`${outcome} for good`);
      assert.equal(
        await calls.settle(backend, rows.failed(token, null, error, outcome)),
        true,
      );
      const row = await calls.taskRow(backend, id);
      assert.equal(row.status, "failed");
      assert.equal(row.error, error);
      assert.equal(row.finished_at, T0 + 5);
      assert.equal(row.lease_expires_at, null);
      assert.equal(row.result, null);
      assert.deepEqual(
        (await calls.attemptRows(backend, id)).map((a) => a.outcome),
        [outcome],
      );
      assert.deepEqual(await calls.claim(backend, { now: T0 + 1e6 }), []);
    });
  }

  test("a task failed on every attempt keeps one history row per attempt, oldest first", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { maxAttempts: 3 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const token = await calls.claimOne(backend, {
        workerId: `w${attempt}`,
        now: T0 + attempt * 100,
      });
      assert.equal(token.attempt, attempt);
      const retryAt = attempt < 3 ? T0 + attempt * 100 + 50 : null;
      const error = rows.storedError(`try ${attempt}`);
      assert.equal(
        await calls.settle(backend, rows.failed(token, retryAt, error)),
        true,
      );
    }
    const row = await calls.taskRow(backend, id);
    assert.equal(row.status, "failed");
    assert.equal(row.attempts, 3);
    assert.equal(row.error, rows.storedError("try 3"));
    assert.deepEqual(
      (await calls.attemptRows(backend, id)).map((a) => [
        a.attempt,
        a.worker_id,
        a.outcome,
        a.error,
      ]),
      [1, 2, 3].map((
        n,
      ) => [n, `w${n}`, "failed", rows.storedError(`try ${n}`)]),
    );
  });

  test("settleAndClaim settles before it claims: a retry due at once is claimed again in the same call", async (t) => {
    const backend = t.backend();
    const [retried, next] = await backend.insertTasks([
      rows.newTask({ priority: 1 }),
      rows.newTask(),
    ]);
    const token = await calls.claimOne(backend);
    assert.equal(token.id, retried);
    const { applied, claimed } = await backend.settleAndClaim(
      [rows.failed(token, T0)],
      rows.claimRequest({ limit: 5 }),
    );
    assert.deepEqual(applied, [true]);
    assert.deepEqual(
      claimed.map((task) => [task.id, task.attempt]),
      [[retried, 2], [next, 1]],
    );
  });

  test("settleAndClaim writes a batch of settlements, each with its own outcome", async (t) => {
    const backend = t.backend();
    const ids = await backend.insertTasks(
      rows.tasks(3, { maxAttempts: 1 }),
    );
    const tokens = (await calls.claim(backend, { limit: 3 })).map((task) => ({
      id: task.id,
      workerId: "w1",
      attempt: task.attempt,
    }));
    const { applied } = await backend.settleAndClaim([
      rows.completed(tokens[0]!, "1"),
      rows.failed(tokens[1]!, null),
      rows.completed(tokens[2]!, "3"),
    ], undefined);
    assert.deepEqual(applied, [true, true, true]);
    const stored = await Promise.all(
      ids.map((id) => calls.taskRow(backend, id)),
    );
    assert.deepEqual(stored.map((row) => [row.status, row.result]), [
      ["completed", "1"],
      ["failed", null],
      ["completed", "3"],
    ]);
  });
}
