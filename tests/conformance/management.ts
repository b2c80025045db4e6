/**
 * Management by id and in bulk: cancel (waiting, queued or running tasks;
 * running ones: cancel_running.ts), requeue (failed
 * or cancelled tasks, attempts reset), and prune (finished tasks and their
 * history, by status and finish time).
 *
 * @module
 */
import assert from "node:assert/strict";
import type {
  Backend,
  TaskRow,
  TransitionResult,
} from "../../lib/storage/backend.ts";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** The columns a requeue empties: what the last run left. */
const CLEARED_BY_REQUEUE = [
  "result",
  "error",
  "progress",
  "lease_expires_at",
  "started_at",
  "finished_at",
] as const;

/**
 * One task in each status, by status: running, completed (at T0 + 5), failed
 * (at T0 + 5), cancelled (at T0 + 7) and queued, inserted in that order.
 */
async function oneOfEach(backend: Backend): Promise<Record<string, number>> {
  const ids = await backend.insertTasks(
    rows.tasks(5, { maxAttempts: 1 }),
  );
  const [running, done, failing, cancelled, queued] = ids;
  const claimed = await calls.claim(backend, { limit: 3, now: T0 + 1 });
  assert.deepEqual(claimed.map((task) => task.id), [running, done, failing]);
  const token = (id: number) => ({ id, workerId: "w1", attempt: 1 });
  assert.equal(await calls.settle(backend, rows.completed(token(done!))), true);
  assert.equal(
    await calls.settle(backend, rows.failed(token(failing!), null)),
    true,
  );
  assert.equal((await backend.cancel(cancelled!, T0 + 7)).changed, true);
  return {
    running: running!,
    completed: done!,
    failed: failing!,
    cancelled: cancelled!,
    queued: queued!,
  };
}

/**
 * Asserts that `transition` changes none of `tasks` in `statuses` and
 * returns each as stored, and finds no task for an unknown id.
 */
async function expectNoChange(
  backend: Backend,
  tasks: Record<string, number>,
  statuses: readonly TaskRow["status"][],
  transition: (id: number) => Promise<TransitionResult>,
): Promise<void> {
  for (const status of statuses) {
    const id = tasks[status]!;
    const before = await calls.taskRow(backend, id);
    assert.equal(before.status, status);
    const { changed, row } = await transition(id);
    assert.equal(changed, false, status);
    assert.deepEqual({ ...row }, before, status);
    assert.deepEqual(await calls.taskRow(backend, id), before, status);
  }
  assert.deepEqual(await transition(9999), { changed: false, row: undefined });
}

/** Registers the cancel, requeue and prune tests. */
export function managementTests({ test }: Suite): void {
  test("cancel ends a queued task as cancelled and returns it", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend);
    const { changed, row } = await backend.cancel(id, T0 + 3);
    assert.equal(changed, true);
    assert.equal(row?.status, "cancelled");
    assert.equal(row?.finished_at, T0 + 3);
    assert.deepEqual({ ...row }, await calls.taskRow(backend, id));
    assert.deepEqual(await calls.claim(backend), []);
  });

  test("requeue puts a failed or cancelled task back in the queue with its attempts reset and its history kept", async (t) => {
    const backend = t.backend();
    const tasks = await oneOfEach(backend);
    for (const status of ["failed", "cancelled"]) {
      const id = tasks[status]!;
      const before = await calls.attemptRows(backend, id);
      const { changed, row } = await backend.requeue(id, T0 + 100);
      assert.equal(changed, true);
      assert.deepEqual({ ...row }, await calls.taskRow(backend, id));
      assert.deepEqual(
        [row?.status, row?.attempts, row?.run_at],
        ["queued", 0, T0 + 100],
      );
      // Nothing of the ended run is left on the task.
      for (const column of CLEARED_BY_REQUEUE) {
        assert.equal(row?.[column], null, column);
      }
      assert.deepEqual(await calls.attemptRows(backend, id), before);
    }
    const claimed = await calls.claim(backend, {
      now: T0 + 100,
      workerId: "w2",
    });
    assert.deepEqual(
      claimed.map((task) => [task.id, task.attempt]).sort(),
      [[tasks.queued!, 1], [tasks.failed!, 1], [tasks.cancelled!, 1]].sort(),
    );
  });

  test("cancel changes only waiting, queued or running tasks and requeue only failed or cancelled ones; neither finds a missing task", async (t) => {
    const backend = t.backend();
    const tasks = await oneOfEach(backend);
    const unchanged = async (
      statuses: readonly TaskRow["status"][],
      transition: (id: number) => Promise<TransitionResult>,
    ) => await expectNoChange(backend, tasks, statuses, transition);
    await unchanged(
      ["completed", "failed", "cancelled"],
      (id) => backend.cancel(id, T0 + 50),
    );
    await unchanged(
      ["queued", "running", "completed"],
      (id) => backend.requeue(id, T0 + 50),
    );
  });

  test("prune deletes the finished tasks of the given statuses that finished before a time, with their history", async (t) => {
    const backend = t.backend();
    const tasks = await oneOfEach(backend);
    // Finished at T0 + 5 (completed, failed) and T0 + 7 (cancelled).
    assert.equal(
      await backend.prune(["completed", "failed", "cancelled"], T0 + 5),
      0,
      "a task finished at the cut-off is kept",
    );
    assert.equal(await backend.prune(["completed"], T0 + 6), 1);
    assert.equal(await backend.getTask(tasks.completed!), undefined);
    assert.deepEqual(await backend.getAttempts(tasks.completed!), []);
    assert.equal(
      (await calls.taskRow(backend, tasks.failed!)).status,
      "failed",
    );
    // Queued and running tasks are never pruned, even when named.
    assert.equal(
      await backend.prune(
        ["queued", "running", "failed", "cancelled"],
        T0 + 1e6,
      ),
      2,
    );
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({ queued: 1, running: 1 }),
    );
    assert.equal(await backend.prune(["queued", "running"], T0 + 1e6), 0);
    assert.equal(await backend.prune([], T0 + 1e6), 0);
  });
}
