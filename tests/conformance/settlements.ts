/**
 * Settlements: a completed attempt stores its result; a failed or timed-out
 * one either queues the task again for its retry time (backoff) or fails it
 * for good; every applied settlement but a completion adds one history
 * row (a completed attempt is read from its task's row); and
 * settleAndClaim settles before it claims, in one call.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";
import { withRawSqlite } from "./raw_sqlite.ts";

/** Registers the settlement tests. */
export function settlementTests({ test, factory }: Suite): void {
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
    // The completed attempt is read from the task's row (no history row
    // since v11): it started when its lease did.
    assert.deepEqual(await calls.attemptRows(backend, id), [{
      task_id: id,
      attempt: 1,
      worker_id: "w9",
      started_at: row.started_at,
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

  test("a task that failed, then completed, lists the failure's history row and then the completion", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { maxAttempts: 2 });
    const first = await calls.claimOne(backend, { workerId: "w1", now: T0 });
    const error = rows.storedError("try 1");
    assert.equal(
      await calls.settle(backend, rows.failed(first, T0 + 50, error)),
      true,
    );
    const second = await calls.claimOne(backend, {
      workerId: "w2",
      now: T0 + 100,
    });
    assert.equal(
      await calls.settle(
        backend,
        rows.completed(second, "2", {
          startedAt: T0 + 101,
          finishedAt: T0 + 150,
        }),
      ),
      true,
    );
    const row = await calls.taskRow(backend, id);
    assert.deepEqual(await calls.attemptRows(backend, id), [{
      task_id: id,
      attempt: 1,
      worker_id: "w1",
      started_at: rows.SPAN.startedAt,
      finished_at: rows.SPAN.finishedAt,
      outcome: "failed",
      error,
    }, {
      task_id: id,
      attempt: 2,
      worker_id: "w2",
      started_at: row.started_at,
      finished_at: T0 + 150,
      outcome: "completed",
      error: null,
    }]);
  });

  if (factory.family === "sqlite" && factory.connections) {
    test("a completed attempt writes no history row, and one written before v11 is listed once", async (t) => {
      const backend = t.backend();
      const path = t.store().path!;
      const [kept, legacy] = await backend.insertTasks([
        rows.newTask(),
        rows.newTask(),
      ]);
      for (const workerId of ["w1", "w2"]) {
        const token = await calls.claimOne(backend, { workerId });
        assert.equal(
          await calls.settle(backend, rows.completed(token, "null")),
          true,
        );
      }
      const count = (db: Parameters<Parameters<typeof withRawSqlite>[1]>[0]) =>
        Number(
          (db.prepare("select count(*) as n from sitq_attempts").all()[0] as {
            n: number;
          }).n,
        );
      assert.equal(await withRawSqlite(path, count), 0);
      // What sitq wrote for a completion before v11: its own history row.
      await withRawSqlite(path, (db) => {
        db.prepare(
          `insert into sitq_attempts (task_id, attempt, worker_id, started_at,
            finished_at, outcome, error) values (?, 1, 'w2', ?, ?, 'completed', null)`,
        ).run(legacy, T0 - 7, T0 - 3);
      });
      assert.deepEqual(
        (await calls.attemptRows(backend, legacy!)).map((a) => [
          a.attempt,
          a.worker_id,
          a.started_at,
          a.outcome,
        ]),
        [[1, "w2", T0 - 7, "completed"]],
      );
      assert.deepEqual(
        (await calls.attemptRows(backend, kept!)).map((a) => [
          a.attempt,
          a.worker_id,
          a.outcome,
        ]),
        [[1, "w1", "completed"]],
      );
    });
  }

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
