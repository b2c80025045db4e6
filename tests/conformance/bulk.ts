/**
 * Bulk operations by filter, through the queue (`cancelTasks`,
 * `requeueTasks`, `deleteTasks`): each returns how many tasks it changed and
 * changes exactly the tasks its filter selects (status, name, queue, age),
 * skipping statuses it does not apply to; an empty filter is refused for a
 * delete.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TaskStatus } from "../../lib/core/types.ts";
import type { Suite, TestContext } from "./harness.ts";

/** A clock the test moves by hand. */
class HandClock {
  at = Date.UTC(2031, 0, 1);
  now(): number {
    return this.at;
  }
}

/**
 * A queue over the test's backend with a hand clock, and twelve tasks:
 * names "a" and "b", queues "q1" and "q2", created at clock + 0..11 ms.
 * Three of "a" in q1 fail, two of "b" in q2 complete, one "a" in q2 is
 * cancelled; the rest stay queued. Returns the ids by what became of them.
 */
async function fixture(t: TestContext) {
  const clock = new HandClock();
  const queue = new t.sitq.TaskQueue(t.backend(), { clock });
  const start = clock.at;
  const a = queue.task("a", (fail: boolean) => {
    if (fail) throw new Error("a failed");
    return 1;
  }, { maxAttempts: 1 });
  const b = queue.task("b", (fail: boolean) => {
    if (fail) throw new Error("b failed");
    return 2;
  }, { maxAttempts: 1 });
  const ids: Record<string, number[]> = {
    failed: [],
    completed: [],
    cancelled: [],
    queued: [],
  };
  const plan: Array<[typeof a, string, boolean, string]> = [
    [a, "q1", true, "failed"],
    [a, "q1", true, "failed"],
    [a, "q1", true, "failed"],
    [b, "q2", false, "completed"],
    [b, "q2", false, "completed"],
    [a, "q2", false, "cancelled"],
    [a, "q1", false, "queued"],
    [a, "q2", false, "queued"],
    [b, "q1", false, "queued"],
    [b, "q2", false, "queued"],
    [b, "q2", false, "queued"],
    [a, "q1", false, "queued"],
  ];
  const run: number[] = [];
  for (const [task, lane, fail, fate] of plan) {
    const id = Number(await queue.enqueue(task.with({ queue: lane }), fail));
    ids[fate]!.push(id);
    if (fate === "failed" || fate === "completed") run.push(id);
    clock.at++;
  }
  for (const id of ids.cancelled!) await queue.cancel(id);
  // Run exactly the tasks meant to finish: the others are delayed first.
  const later = [...ids.queued!];
  for (const id of later) await queue.cancel(id);
  const worker = queue.worker();
  while ((await queue.stats()).queued > 0) await worker.processOne();
  // Back to queued, due now, for the operations below.
  for (const id of later) await queue.requeue(id);
  return { queue, clock, ids, start };
}

async function statusesOf(
  queue: InstanceType<TestContext["sitq"]["TaskQueue"]>,
  ids: readonly number[],
): Promise<TaskStatus[]> {
  const statuses: TaskStatus[] = [];
  for (const id of ids) statuses.push((await queue.getResult(id)).status);
  return statuses;
}

/** Registers the bulk-operation tests. */
export function bulkTests({ test }: Suite): void {
  test("cancelTasks by status, name and queue cancels exactly those tasks and counts them", async (t) => {
    const { queue, ids } = await fixture(t);
    assert.deepEqual(await queue.stats(), {
      waiting: 0,
      queued: 6,
      running: 0,
      completed: 2,
      failed: 3,
      cancelled: 1,
    });
    // Queued "a" tasks in q1: ids.queued[0] and [5].
    assert.equal(
      await queue.cancelTasks({ status: "queued", name: "a", queue: "q1" }),
      2,
    );
    assert.deepEqual(await statusesOf(queue, ids.queued!), [
      "cancelled",
      "queued",
      "queued",
      "queued",
      "queued",
      "cancelled",
    ]);
    // Finished statuses are skipped, even when named.
    assert.equal(
      await queue.cancelTasks({ status: ["completed", "failed"] }),
      0,
    );
    // Lists: names and queues.
    assert.equal(await queue.cancelTasks({ name: ["b"], queue: ["q2"] }), 2);
    assert.equal(await queue.cancelTasks({}), 2);
    assert.equal((await queue.stats()).queued, 0);
    assert.equal((await queue.stats()).completed, 2);
  });

  test("requeueTasks by status and name requeues exactly those failed or cancelled tasks and counts them", async (t) => {
    const { queue, ids } = await fixture(t);
    assert.equal(await queue.requeueTasks({ status: "queued" }), 0);
    assert.equal(await queue.requeueTasks({ name: "b" }), 0);
    assert.equal(
      await queue.requeueTasks({ status: "failed", queue: "q1" }),
      3,
    );
    for (const id of ids.failed!) {
      const result = await queue.getResult(id);
      assert.equal(result.status, "queued");
      assert.equal(result.attempts, 0);
    }
    assert.deepEqual(await statusesOf(queue, ids.cancelled!), ["cancelled"]);
    assert.deepEqual(await statusesOf(queue, ids.completed!), [
      "completed",
      "completed",
    ]);
    assert.equal(await queue.requeueTasks({ status: ["cancelled"] }), 1);
    assert.equal((await queue.stats()).queued, 10);
  });

  test("bulk filters by age: createdBefore, finishedBefore and olderThan", async (t) => {
    const { queue, clock, ids, start } = await fixture(t);
    // Created at start + 0, 1, 2 (the three failed ones); before start + 2: two.
    assert.equal(
      await queue.requeueTasks({ status: "failed", createdBefore: start + 2 }),
      2,
    );
    assert.deepEqual(await statusesOf(queue, ids.failed!), [
      "queued",
      "queued",
      "failed",
    ]);
    // Everything finished at the fixture's clock; a later instant matches.
    const finished = new Date(clock.at + 1);
    assert.equal(
      await queue.deleteTasks({ status: "completed", finishedBefore: start }),
      0,
    );
    assert.equal(
      await queue.deleteTasks({
        status: "completed",
        finishedBefore: finished,
      }),
      2,
    );
    // olderThan: since finished (or created, for unfinished tasks).
    clock.at += 60_000;
    assert.equal(await queue.cancelTasks({ olderThan: 120_000 }), 0);
    assert.equal(
      await queue.cancelTasks({ name: "a", olderThan: 30_000 }),
      5,
    );
  });

  test("deleteTasks deletes finished tasks only, with their history, and refuses an empty filter", async (t) => {
    const { queue, ids } = await fixture(t);
    await assert.rejects(
      queue.deleteTasks({}),
      (error: Error) =>
        error instanceof t.sitq.InvalidStateError &&
        error.message.includes("status"),
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      queue.deleteTasks({ status: "nonsense" as any }),
      RangeError,
    );
    assert.equal(await queue.deleteTasks({ status: "queued" }), 0);
    assert.equal(
      await queue.deleteTasks({ status: ["failed", "queued"], name: "a" }),
      3,
    );
    for (const id of ids.failed!) {
      await assert.rejects(queue.getTask(id), t.sitq.TaskNotFoundError);
    }
    assert.equal(
      await queue.deleteTasks({
        status: ["completed", "failed", "cancelled"],
      }),
      3,
    );
    assert.deepEqual(await queue.stats(), {
      waiting: 0,
      queued: 6,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
  });
  test("bulk filters by ids: only those tasks, with the other conditions", async (t) => {
    const { queue, ids } = await fixture(t);
    const [q0, q1, q2] = ids.queued!;
    // One id of each kind: the status narrows them to the finished one.
    assert.equal(
      await queue.deleteTasks({
        ids: [ids.failed![0]!, ids.completed![0]!, q0!],
        status: "failed",
      }),
      1,
    );
    await assert.rejects(
      queue.getTask(ids.failed![0]!),
      t.sitq.TaskNotFoundError,
    );
    assert.equal(
      (await queue.getResult(ids.completed![0]!)).status,
      "completed",
    );
    assert.equal(await queue.cancelTasks({ ids: [q1!, q2!], name: "b" }), 1);
    assert.deepEqual(await statusesOf(queue, [q0!, q1!, q2!]), [
      "queued",
      "queued",
      "cancelled",
    ]);
    assert.equal(await queue.requeueTasks({ ids: [] }), 0);
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      queue.cancelTasks({ ids: [0] as any }),
      (error: Error) =>
        error instanceof TypeError && error.message.includes("'ids'"),
    );
  });
}
