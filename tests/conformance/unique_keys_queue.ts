/**
 * Unique keys through the public API on each backend: `enqueue` returns the
 * holder's id, `enqueueUnique`/`enqueueManyUnique` say what was created,
 * `getTask`/`listTasks` show the key, requeue of a task whose key is taken
 * throws DuplicateKeyError; and in transactions: an enqueue in the caller's
 * transaction holds the key from its insert, a rollback gives it back, a
 * refused batch leaves the transaction usable, and a transaction meeting
 * another's uncommitted holder waits for it (on PostgreSQL under READ
 * COMMITTED, on SQLite for the write lock). PostgreSQL only: a holder
 * settling in a concurrent transaction is seen either way.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend } from "../../lib/storage/backend.ts";
import type { StoreSpec, Suite, TestContext } from "./harness.ts";
import { waitFor } from "./harness.ts";
import { withRawPostgres } from "./raw_postgres.ts";
import { liveWithKey, rejectsDuplicate } from "./unique_keys.ts";

/** A backend that can run the caller's transaction (`transaction(fn)`). */
interface TransactionalBackend extends Backend {
  transaction<T>(fn: (trx: never) => Promise<T>): Promise<T>;
}

/** A backend object of the store with `transaction(fn)`: SQLiteBackend or PostgresBackend. */
function transactional(t: TestContext): TransactionalBackend {
  const backend = t.factory.connections ? t.connect() : t.backend();
  assert.equal(
    typeof (backend as Partial<TransactionalBackend>).transaction,
    "function",
  );
  return backend as TransactionalBackend;
}

/** A queue on `backend` with a "sync" task (not closed: the harness closes backends). */
function syncQueue(t: TestContext, backend: Backend = t.backend()) {
  const queue = new t.sitq.TaskQueue(backend);
  const sync = queue.task("sync", (userId: number, full: boolean) => ({
    userId,
    full,
  }));
  return { queue, sync };
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * Resolves once some connection of the store waits for a lock
 * (PostgreSQL); at once elsewhere, where a wait cannot be seen from here.
 */
async function someoneWaits(t: TestContext): Promise<void> {
  const spec = t.store().spec as StoreSpec | undefined;
  if (spec?.backend !== "postgres") return;
  await waitFor(
    () =>
      withRawPostgres(spec.url, async (client) => {
        // This test's statements name its schema; other tests' (another
        // runtime's run on the same server) do not.
        const { rows } = await client.query(
          `select count(*)::int as waiting from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and strpos(query, $1) > 0`,
          [`"${spec.schema}"`],
        );
        return Number(rows[0]?.waiting) > 0;
      }),
    "an enqueue waiting for the other transaction's holder",
  );
}

/** Registers the unique key tests that go through the queue. */
export function uniqueKeyQueueTests({ test, factory }: Suite): void {
  test("enqueue returns the holder's id; enqueueUnique says whether it created; getTask and listTasks show the key", async (t) => {
    const { queue, sync } = syncQueue(t);
    const once = sync.with({ uniqueKey: "user:1", uniqueFor: 60_000 });
    const id = await queue.enqueue(once, 1, false);
    assert.equal(await queue.enqueue(once, 1, true), id);
    const again = await queue.enqueueUnique(once, 1, true);
    assert.deepEqual(again, {
      id,
      key: "user:1",
      created: false,
      replaced: false,
      status: "queued",
    });
    const task = await queue.getTask(id);
    assert.deepEqual(
      [task.uniqueKey, task.uniqueFor, task.args],
      ["user:1", 60_000, [1, false]],
    );
    const plain = await queue.enqueue(sync, 2, false);
    const page = await queue.listTasks();
    assert.deepEqual(
      page.tasks.map((record) => [record.id, record.uniqueKey]),
      [[plain, undefined], [id, "user:1"]],
    );
    assert.equal("uniqueKey" in (await queue.getTask(plain)), false);
  });

  test("enqueueManyUnique gives each run its key from its arguments; enqueueMany returns the holders", async (t) => {
    const { queue, sync } = syncQueue(t);
    const results = await queue.enqueueManyUnique(
      sync,
      [[1, false], [2, false], [1, true]],
      { uniqueKey: (userId) => `user:${userId}`, onDuplicate: "replace" },
    );
    assert.deepEqual(
      results.map((r) => [r.key, r.created, r.replaced]),
      [["user:1", true, false], ["user:2", true, false], [
        "user:1",
        false,
        true,
      ]],
    );
    assert.equal(results[2]!.id, results[0]!.id);
    assert.deepEqual((await queue.getTask(results[0]!.id)).args, [1, true]);
    const ids = await queue.enqueueMany(sync, [[2, true], [3, true]], {
      uniqueKey: (userId) => `user:${userId}`,
    });
    assert.equal(ids[0], results[1]!.id);
    assert.equal((await queue.getTask(ids[1]!)).uniqueKey, "user:3");
    assert.deepEqual((await queue.getTask(ids[0]!)).args, [2, false]);
  });

  test("a worker runs a keyed task, after which the key is free; with onDuplicate error the duplicate is refused while it waits", async (t) => {
    const { queue, sync } = syncQueue(t);
    const strict = sync.with({ uniqueKey: "user:5", onDuplicate: "error" });
    const first = await queue.enqueue(strict, 5, false);
    await rejectsDuplicate(t, queue.enqueue(strict, 5, true), "user:5", first);
    const worker = queue.worker({ pollInterval: 50 });
    await worker.start();
    t.defer(() => worker.stop());
    const result = await queue.waitForResult(first, { timeout: 10_000 });
    assert.deepEqual(result.status, "completed");
    const second = await queue.enqueueUnique(strict, 5, true);
    assert.equal(second.created, true);
    assert.notEqual(second.id, first);
  });

  test("requeue of a task whose key another task took throws DuplicateKeyError naming that task", async (t) => {
    const { queue, sync } = syncQueue(t);
    const keyed = sync.with({ uniqueKey: "user:9" });
    const first = await queue.enqueue(keyed, 9, false);
    await queue.cancel(first);
    const second = await queue.enqueue(keyed, 9, true);
    assert.notEqual(second, first);
    await assert.rejects(queue.requeue(first), (error) => {
      assert.ok(error instanceof t.sitq.DuplicateKeyError, String(error));
      assert.deepEqual([error.key, error.holderId], ["user:9", second]);
      assert.match(error.message, /^Cannot requeue task \d+: task \d+ holds/);
      return true;
    });
    assert.equal((await queue.getResult(first)).status, "cancelled");
    await queue.cancel(second);
    await queue.requeue(first);
    assert.equal((await queue.getResult(first)).status, "queued");
  });

  test("in the caller's transaction a keyed enqueue holds the key from its insert, and a rollback gives it back", async (t) => {
    const backend = transactional(t);
    const { queue, sync } = syncQueue(t, backend);
    const keyed = sync.with({ uniqueKey: "order:1" });
    const [first, second] = await backend.transaction(async (trx) => {
      const view = queue.inTransaction(trx);
      return [
        await view.enqueueUnique(keyed, 1, false),
        await view.enqueueUnique(keyed, 1, true),
      ];
    });
    assert.equal(first.created, true);
    assert.deepEqual([second.created, second.id], [false, first.id]);
    await assert.rejects(
      backend.transaction(async (trx) => {
        const made = await queue.inTransaction(trx).enqueueUnique(
          sync.with({ uniqueKey: "order:2" }),
          2,
          false,
        );
        assert.equal(made.created, true);
        throw new Error("roll back");
      }),
      /roll back/,
    );
    const after = await queue.enqueueUnique(
      sync.with({ uniqueKey: "order:2" }),
      2,
      false,
    );
    assert.equal(after.created, true, "the rolled-back key is free");
  });

  test("a refused batch in the caller's transaction leaves none of its rows and the transaction usable", async (t) => {
    const backend = transactional(t);
    const { queue, sync } = syncQueue(t, backend);
    const held = await queue.enqueue(
      sync.with({ uniqueKey: "user:2" }),
      2,
      false,
    );
    const after = await backend.transaction(async (trx) => {
      const view = queue.inTransaction(trx);
      await rejectsDuplicate(
        t,
        view.enqueueManyUnique(sync, [[1, false], [2, false], [3, false]], {
          uniqueKey: (userId) => `user:${userId}`,
          onDuplicate: "error",
        }),
        "user:2",
        held,
      );
      return await view.enqueueUnique(
        sync.with({ uniqueKey: "user:1" }),
        1,
        true,
      );
    });
    assert.equal(after.created, true);
    assert.deepEqual(await liveWithKey(backend, "user:3", "sync"), []);
    assert.deepEqual((await queue.stats()).queued, 2);
  });

  if (factory.connections) {
    for (const ending of ["commit", "rollback"] as const) {
      test(
        `an enqueue meeting another open transaction's uncommitted holder waits for it, then ${
          ending === "commit" ? "reports that holder" : "creates the task"
        }`,
        async (t) => {
          const first = transactional(t);
          const second = transactional(t);
          const one = syncQueue(t, first);
          const two = syncQueue(t, second);
          const keyed = (queue: typeof one) =>
            queue.sync.with({ uniqueKey: "user:1" });
          const inserted = gate();
          const release = gate();
          const firstDone = first.transaction(async (trx) => {
            const made = await one.queue.inTransaction(trx).enqueueUnique(
              keyed(one),
              1,
              false,
            );
            inserted.open();
            await release.opened;
            if (ending === "rollback") throw new Error("rolled back");
            return made;
          });
          firstDone.catch(() => {});
          await inserted.opened;
          const secondDone = second.transaction((trx) =>
            two.queue.inTransaction(trx).enqueueUnique(keyed(two), 1, true)
          );
          await someoneWaits(t);
          release.open();
          const theirs = await secondDone;
          if (ending === "commit") {
            const mine = await firstDone;
            assert.equal(mine.created, true);
            assert.deepEqual([theirs.created, theirs.id], [false, mine.id]);
          } else {
            await assert.rejects(firstDone, /rolled back/);
            assert.equal(theirs.created, true);
          }
          assert.equal((await liveWithKey(first, "user:1", "sync")).length, 1);
        },
      );
    }
  }

  if (factory.family === "postgres") {
    for (const window of [true, false]) {
      test(
        `a holder completing in a concurrent transaction is waited for: ${
          window
            ? "within its window it still holds the key"
            : "without a window its key is then free"
        }`,
        async (t) => {
          const { queue, sync } = syncQueue(t);
          const keyed = sync.with({
            uniqueKey: "user:1",
            ...(window ? { uniqueFor: 3_600_000 } : {}),
          });
          const id = await queue.enqueue(keyed, 1, false);
          const spec = t.store().spec as Extract<
            StoreSpec,
            { backend: "postgres" }
          >;
          // A worker's settlement, held open in a transaction of its own.
          await withRawPostgres(spec.url, async (client) => {
            await client.query("begin");
            await client.query(
              `update "${spec.schema}".sitq_tasks
                set status = 'completed', finished_at = $2, attempts = 1
              where id = $1`,
              [id, Date.now()],
            );
            const enqueued = queue.enqueueUnique(keyed, 1, true);
            enqueued.catch(() => {});
            await someoneWaits(t);
            await client.query("commit");
            const result = await enqueued;
            if (window) {
              assert.deepEqual(
                [result.created, result.id, result.status],
                [false, id, "completed"],
              );
            } else {
              assert.equal(result.created, true);
            }
          });
        },
      );
    }
  }
}
