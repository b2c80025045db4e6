/**
 * Claims: what a claim hands out and writes, which tasks it may take (names,
 * run time, limit), and atomicity: racing claimers, on one backend object and
 * on several connections to one store, each get a task at most once.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend, Settlement } from "../../lib/storage/backend.ts";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/**
 * Runs one claim loop per backend in `claimers` at once, worker `w<i>` on
 * the i-th, each claiming up to `limit` tasks at a time and completing them
 * in its next call (settlement and claim in one transaction), until a claim
 * finds nothing. Returns the ids each worker claimed.
 */
export async function raceClaimers(
  claimers: readonly Backend[],
  limit: number,
): Promise<number[][]> {
  return await Promise.all(claimers.map(async (backend, index) => {
    const workerId = `w${index}`;
    const mine: number[] = [];
    let settling: Settlement[] = [];
    for (;;) {
      const { applied, claimed } = await backend.settleAndClaim(
        settling,
        rows.claimRequest({ workerId, limit }),
      );
      assert.ok(applied.every(Boolean), `${workerId} still owned its tasks`);
      if (claimed.length === 0 && settling.length === 0) return mine;
      mine.push(...claimed.map((task) => task.id));
      settling = claimed.map((task) =>
        rows.completed({ id: task.id, workerId, attempt: task.attempt })
      );
    }
  }));
}

/**
 * Asserts that the workers of {@linkcode raceClaimers} claimed every id of
 * `ids` exactly once between them, and completed each with one attempt.
 */
export async function expectEachClaimedOnce(
  backend: Backend,
  ids: readonly number[],
  claimedBy: readonly number[][],
): Promise<void> {
  const all = claimedBy.flat();
  assert.equal(all.length, ids.length, "claims in all");
  assert.deepEqual([...all].sort((a, b) => a - b), [...ids]);
  assert.deepEqual(
    await calls.statusCounts(backend),
    rows.counts({ completed: ids.length }),
  );
  for (const [index, mine] of claimedBy.entries()) {
    for (const id of mine.slice(0, 3)) {
      const history = await calls.attemptRows(backend, id);
      assert.deepEqual(
        history.map((row) => [row.attempt, row.outcome, row.worker_id]),
        [[1, "completed", `w${index}`]],
      );
    }
  }
}

/** Registers the claim tests. */
export function claimTests({ test, factory }: Suite): void {
  test("a claim hands out the task as inserted, as attempt 1, running under the claimer's lease", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, {
      args: '["a",1]',
      priority: 4,
      runAt: T0 - 100,
      maxAttempts: 5,
      timeout: 2500,
    });
    const claimed = await calls.claim(backend, {
      workerId: "w7",
      now: T0,
      leaseDuration: 30_000,
    });
    assert.deepEqual(claimed.map((task) => ({ ...task })), [{
      id,
      name: "job",
      args: '["a",1]',
      attempt: 1,
      maxAttempts: 5,
      timeout: 2500,
      priority: 4,
      runAt: T0 - 100,
      queue: "default",
    }]);
    const row = await calls.taskRow(backend, id);
    assert.equal(row.status, "running");
    assert.equal(row.attempts, 1);
    assert.equal(row.worker_id, "w7");
    assert.equal(row.lease_expires_at, T0 + 30_000);
    assert.equal(row.started_at, T0);
    assert.equal(row.finished_at, null);
    assert.deepEqual(await calls.attemptRows(backend, id), []);
  });

  test("a short claim tells the earliest later run time among its names and queues, over every priority", async (t) => {
    const backend = t.backend();
    const [due] = await backend.insertTasks([
      rows.newTask({ priority: 2, runAt: T0 }),
      rows.newTask({ priority: 0, runAt: T0 + 3000 }),
      rows.newTask({ priority: 5, runAt: T0 + 2000 }),
      rows.newTask({ priority: -3, runAt: T0 + 1500 }),
      rows.newTask({ priority: -3, runAt: T0 + 1200, queue: "side" }),
      rows.newTask({ name: "other", priority: 9, runAt: T0 + 100 }),
    ]);
    const first = await backend.settleAndClaim(
      [],
      rows.claimRequest({ names: ["job"], limit: 4, now: T0 }),
    );
    assert.deepEqual(first.claimed.map((task) => task.id), [due]);
    assert.equal(first.nextRunAt, T0 + 1200);
    const named = await backend.settleAndClaim(
      [],
      rows.claimRequest({ names: ["job", "other"], limit: 4, now: T0 }),
    );
    assert.deepEqual(named.claimed, []);
    assert.equal(named.nextRunAt, T0 + 100);
    const queued = await backend.settleAndClaim(
      [],
      rows.claimRequest({
        names: ["job"],
        queues: ["default"],
        limit: 4,
        now: T0,
      }),
    );
    assert.equal(queued.nextRunAt, T0 + 1500);
    const later = await backend.settleAndClaim(
      [],
      rows.claimRequest({ names: ["job"], limit: 4, now: T0 + 2000 }),
    );
    assert.equal(later.claimed.length, 3, "the three job tasks due by then");
    const none = await backend.settleAndClaim(
      [],
      rows.claimRequest({ names: ["job"], limit: 4, now: T0 + 2000 }),
    );
    assert.deepEqual(none.claimed, []);
    assert.equal(none.nextRunAt, T0 + 3000);
  });

  test("a claim takes only tasks with the names asked for", async (t) => {
    const backend = t.backend();
    const [a, , c] = await backend.insertTasks([
      rows.newTask({ name: "a" }),
      rows.newTask({ name: "b" }),
      rows.newTask({ name: "c" }),
    ]);
    const claimed = await calls.claim(backend, { names: ["c", "a", "z"] });
    assert.deepEqual(claimed.map((task) => task.id).sort(), [a, c].sort());
    assert.deepEqual(await calls.claim(backend, { names: ["a", "c"] }), []);
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({
        queued: 1,
        running: 2,
      }),
    );
  });

  test("a claim takes only tasks due by its now, the run time itself included", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { runAt: T0 + 1000 });
    assert.deepEqual(await calls.claim(backend, { now: T0 + 999 }), []);
    const claimed = await calls.claim(backend, { now: T0 + 1000 });
    assert.deepEqual(claimed.map((task) => task.id), [id]);
  });

  test("a claim takes at most its limit, and nothing at limit 0 or without a claim", async (t) => {
    const backend = t.backend();
    await backend.insertTasks(
      rows.tasks(5),
    );
    assert.deepEqual(await calls.claim(backend, { limit: 0 }), []);
    assert.deepEqual(
      await backend.settleAndClaim([], undefined),
      { applied: [], claimed: [] },
    );
    assert.equal((await calls.claim(backend, { limit: 2 })).length, 2);
    assert.equal((await calls.claim(backend, { limit: 2 })).length, 2);
    assert.equal((await calls.claim(backend, { limit: 2 })).length, 1);
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({ running: 5 }),
    );
  });

  test("a claimed task is not claimed again, even after its lease expired, until the lease is recovered", async (t) => {
    const backend = t.backend();
    await calls.insertOne(backend);
    await calls.claim(backend, { workerId: "w1", leaseDuration: 1000 });
    assert.deepEqual(await calls.claim(backend, { workerId: "w2" }), []);
    assert.deepEqual(
      await calls.claim(backend, { workerId: "w2", now: T0 + 60_000 }),
      [],
    );
  });

  test("five workers racing on one backend object for 200 tasks each claim a task at most once", async (t) => {
    const backend = t.backend();
    const ids = await backend.insertTasks(
      rows.tasks(200),
    );
    const claimers = Array.from({ length: 5 }, () => backend);
    await expectEachClaimedOnce(
      backend,
      ids,
      await raceClaimers(claimers, 3),
    );
  });

  if (factory.connections) {
    test("five workers racing on five connections to one store for 200 tasks each claim a task at most once", async (t) => {
      const backend = t.backend();
      const ids = await backend.insertTasks(
        rows.tasks(200),
      );
      const claimers = Array.from({ length: 5 }, () => t.connect());
      await expectEachClaimedOnce(
        backend,
        ids,
        await raceClaimers(claimers, 3),
      );
    });
  }
}
