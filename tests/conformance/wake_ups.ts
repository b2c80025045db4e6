/**
 * Wake-ups: what a backend tells its subscribers. Its own writes are told at
 * once (`enqueued` with the earliest run time, `settled` with the ids), and
 * another connection's commits are told as `external`, so idle workers and
 * waiters elsewhere wake without waiting for a poll. Listeners are isolated:
 * one that throws neither fails the write nor silences the others.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend, BackendChange } from "../../lib/storage/backend.ts";
import { type Suite, type TestContext, waitFor } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/**
 * Every change `backend` reports from now until the test ends; the test
 * then also checks that no more than one `notice` came, as promised.
 */
function listen(t: TestContext, backend: Backend): BackendChange[] {
  const seen: BackendChange[] = [];
  t.defer(backend.subscribe((change) => seen.push(change)));
  t.defer(() => {
    const notices = seen.filter((change) => change.type === "notice");
    assert.ok(notices.length <= 1, `one notice at most: ${notices.length}`);
  });
  return seen;
}

/**
 * Asserts that `seen` already holds a change for which `match` is true: a
 * backend tells its own writes before the call that made them returns.
 */
function expectHeard(
  seen: readonly BackendChange[],
  what: string,
  match: (change: BackendChange) => boolean,
): void {
  assert.ok(seen.some(match), `heard ${what}: ${JSON.stringify(seen)}`);
}

const enqueuedAt = (runAt: number) => (change: BackendChange) =>
  change.type === "enqueued" && change.runAt === runAt;

const settledIds = (ids: readonly number[]) => (change: BackendChange) =>
  change.type === "settled" && ids.every((id) => change.ids.includes(id));

/**
 * Writes through another connection in five rounds (`write`), and after each
 * waits until a subscriber of `reader` has caught up with it. Like a waiting
 * worker, the subscriber reads again (`read`: a count each write raises by
 * one) only when it hears `external`: a commit it was not told of would
 * leave its count behind until the hang guard.
 */
async function expectEachWriteHeard(
  t: TestContext,
  reader: Backend,
  write: () => Promise<unknown>,
  read: () => Promise<number>,
): Promise<void> {
  let counted = 0;
  t.defer(reader.subscribe((change) => {
    if (change.type !== "external") return;
    read().then((count) => (counted = Math.max(counted, count)), () => {});
  }));
  for (let round = 1; round <= 5; round++) {
    await write();
    await waitFor(
      () => counted >= round,
      `a subscriber of another connection to hear of write ${round}`,
    );
  }
}

/** Registers the wake-up tests. */
export function wakeUpTests({ test, factory }: Suite): void {
  test("insertTasks tells subscribers it enqueued, with the earliest run time", async (t) => {
    const backend = t.backend();
    const seen = listen(t, backend);
    await backend.insertTasks([
      rows.newTask({ runAt: T0 + 50 }),
      rows.newTask({ runAt: T0 + 10 }),
      rows.newTask({ runAt: T0 + 30 }),
    ]);
    expectHeard(seen, "enqueued at T0 + 10", enqueuedAt(T0 + 10));
  });

  test("settlements, cancel, requeue and lease recovery tell subscribers what changed", async (t) => {
    const backend = t.backend();
    const seen = listen(t, backend);
    const [settled, recovered, cancelled] = await backend.insertTasks([
      rows.newTask({ priority: 2 }),
      rows.newTask({ priority: 1 }),
      rows.newTask(),
    ]);
    const token = await calls.claimOne(backend);
    assert.equal(token.id, settled);
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    expectHeard(seen, "the settlement", settledIds([settled!]));

    await calls.claimOne(backend, { leaseDuration: 10 });
    const lost = rows.storedError("lost");
    assert.deepEqual(await backend.recoverExpiredLeases(T0 + 11, lost), [
      recovered,
    ]);
    expectHeard(seen, "the recovery", settledIds([recovered!]));
    expectHeard(seen, "the recovered task due", enqueuedAt(T0 + 11));

    assert.equal((await backend.cancel(cancelled!, T0 + 20)).changed, true);
    expectHeard(seen, "the cancel", settledIds([cancelled!]));
    assert.equal((await backend.requeue(cancelled!, T0 + 30)).changed, true);
    expectHeard(seen, "the requeue", enqueuedAt(T0 + 30));
  });

  test("an unsubscribed listener hears nothing more; a throwing one fails no write and silences no other", async (t) => {
    const backend = t.backend();
    const gone: BackendChange[] = [];
    const unsubscribe = backend.subscribe((change) => gone.push(change));
    t.defer(backend.subscribe(() => {
      throw new Error("a listener's own bug");
    }));
    const seen = listen(t, backend);
    await calls.insertOne(backend, { runAt: T0 + 1 });
    expectHeard(seen, "the first insert", enqueuedAt(T0 + 1));
    expectHeard(gone, "the first insert", enqueuedAt(T0 + 1));
    unsubscribe();
    const before = gone.length;
    await calls.insertOne(backend, { runAt: T0 + 2 });
    expectHeard(seen, "the second insert", enqueuedAt(T0 + 2));
    assert.equal(gone.length, before);
  });

  if (factory.connections) {
    test("an insert through one connection is told to a subscriber of another", async (t) => {
      const writer = t.connect();
      const reader = t.connect();
      await expectEachWriteHeard(
        t,
        reader,
        () => calls.insertOne(writer),
        async () => (await reader.countByStatus()).queued ?? 0,
      );
    });

    test("a settlement through one connection is told to a subscriber of another", async (t) => {
      const writer = t.connect();
      const reader = t.connect();
      await writer.insertTasks(
        rows.tasks(5),
      );
      await expectEachWriteHeard(
        t,
        reader,
        async () => {
          const token = await calls.claimOne(writer);
          assert.equal(
            await calls.settle(writer, rows.completed(token)),
            true,
          );
        },
        async () => (await reader.countByStatus()).completed ?? 0,
      );
    });

    test("a worker on another connection, polling once an hour, runs each task enqueued here without waiting for its poll", async (t) => {
      const { TaskQueue, Worker } = t.sitq;
      const queue = new TaskQueue(t.backend());
      const double = queue.task("double", (n: number) => n * 2);
      const worker = new Worker(t.connect(), {
        tasks: [double],
        pollInterval: 3_600_000,
      });
      await worker.start();
      t.defer(() => worker.stop());
      // One task at a time, each enqueued while the worker is idle.
      for (let n = 1; n <= 3; n++) {
        await worker.onIdle();
        const id = await queue.enqueue(double, n);
        const result = await queue.waitForResult(id, { timeout: 15_000 });
        assert.deepEqual(result, {
          status: "completed",
          value: 2 * n,
          attempts: 1,
        });
      }
    });
  }
}
