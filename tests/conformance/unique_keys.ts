/**
 * Unique keys, through the Backend: a row with a key creates a task only
 * while no task of its name holds the key (waiting, queued, running, or
 * completed within its window); a failed or cancelled task gives its key
 * up; the modes keep, replace (a waiting or queued holder only) and error;
 * rows of one batch applied in order; requeue and prune against held keys.
 * The queue's methods and transactions are unique_keys_queue.ts; processes
 * racing for one key unique_processes.ts; the schema upgrade
 * unique_schema.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import type {
  Backend,
  InsertOutcome,
  NewTaskRow,
} from "../../lib/storage/backend.ts";
import type { Suite, TestContext } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** A "job" row due at T0 with key `key` and `fields`. */
export function keyed(
  key: string,
  fields: Partial<NewTaskRow> = {},
): NewTaskRow {
  return rows.newTask({ uniqueKey: key, ...fields });
}

/** Inserts `tasks` asking for outcomes. */
export function insertOutcomes(
  backend: Backend,
  tasks: readonly NewTaskRow[],
): Promise<InsertOutcome[]> {
  return backend.insertTasks(tasks, { outcomes: true });
}

/** What a row that created task `id` reports. */
export function created(id: number): InsertOutcome {
  return { id, created: true, replaced: false, status: "queued" };
}

/** What a row that met holder `id` in `status` and kept it reports. */
export function kept(
  id: number,
  status: InsertOutcome["status"] = "queued",
): InsertOutcome {
  return { id, created: false, replaced: false, status };
}

/** Inserts one keyed row; asserts it created a task; returns the id. */
async function createKeyed(
  backend: Backend,
  key: string,
  fields: Partial<NewTaskRow> = {},
): Promise<number> {
  const [outcome] = await insertOutcomes(backend, [keyed(key, fields)]);
  assert.equal(outcome?.created, true, `${key} creates a task`);
  return outcome!.id;
}

/** Claims task `id` (asserting it is the one claimed); returns its token. */
async function claimIt(backend: Backend, id: number, now = T0) {
  const token = await calls.claimOne(backend, { now });
  assert.equal(token.id, id);
  return token;
}

/** The live tasks (queued or running) of `name` with key `key`. */
export async function liveWithKey(
  backend: Backend,
  key: string,
  name = "job",
): Promise<number[]> {
  const live = await backend.listTasks({
    statuses: ["queued", "running"],
    name,
    limit: 10_000,
  });
  return live.filter((row) => row.unique_key === key).map((row) => row.id);
}

/** Asserts that `promise` rejects with a DuplicateKeyError for `key`. */
export async function rejectsDuplicate(
  t: TestContext,
  promise: Promise<unknown>,
  key: string,
  holderId: number | undefined,
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof t.sitq.DuplicateKeyError, String(error));
    assert.equal(error.code, "DUPLICATE_KEY");
    assert.equal(error.key, key);
    assert.equal(error.holderId, holderId);
    assert.match(error.message, new RegExp(JSON.stringify(key)));
    return true;
  });
}

/** Registers the unique key tests that drive the Backend. */
export function uniqueKeyTests({ test, factory }: Suite): void {
  test("a second row with a queued task's key creates nothing and names the holder, in ids and in outcomes", async (t) => {
    const backend = t.backend();
    const [id] = await backend.insertTasks([keyed("user:1", { args: "[1]" })]);
    assert.deepEqual(
      await backend.insertTasks([keyed("user:1", { args: "[2]" })]),
      [id],
    );
    assert.deepEqual(
      await insertOutcomes(backend, [keyed("user:1", { args: "[3]" })]),
      [kept(id!)],
    );
    const row = await calls.taskRow(backend, id!);
    assert.deepEqual(
      [row.args, row.unique_key, row.unique_for, row.unique_released_at],
      ["[1]", "user:1", null, null],
    );
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({ queued: 1 }),
    );
  });

  test("keys are per task name, compared exactly; rows without a key are never held", async (t) => {
    const backend = t.backend();
    const outcomes = await insertOutcomes(backend, [
      keyed("k"),
      keyed("k", { name: "other" }),
      keyed("K"),
      keyed("k "),
      rows.newTask(),
      rows.newTask(),
    ]);
    assert.deepEqual(outcomes.map((o) => o.created), [
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    assert.equal(new Set(outcomes.map((o) => o.id)).size, 6);
    assert.deepEqual(
      await insertOutcomes(backend, [keyed("k", { name: "other" })]),
      [kept(outcomes[1]!.id)],
    );
  });

  test("a running task holds its key; completing, failing for good or being cancelled gives it up", async (t) => {
    const backend = t.backend();
    const first = await createKeyed(backend, "k", { maxAttempts: 1 });
    const token = await claimIt(backend, first);
    assert.deepEqual(await insertOutcomes(backend, [keyed("k")]), [
      kept(first, "running"),
    ]);
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    const second = await createKeyed(backend, "k", { maxAttempts: 1 });
    assert.ok(second > first);
    const failing = await claimIt(backend, second);
    assert.equal(await calls.settle(backend, rows.failed(failing, null)), true);
    const third = await createKeyed(backend, "k");
    assert.equal((await backend.cancel(third, T0 + 9)).changed, true);
    const fourth = await createKeyed(backend, "k");
    assert.deepEqual(await liveWithKey(backend, "k"), [fourth]);
  });

  test("a task waiting to retry (queued again after a failed attempt) still holds its key", async (t) => {
    const backend = t.backend();
    const id = await createKeyed(backend, "k", { maxAttempts: 3 });
    const token = await claimIt(backend, id);
    assert.equal(
      await calls.settle(backend, rows.failed(token, T0 + 60_000)),
      true,
    );
    assert.deepEqual(await insertOutcomes(backend, [keyed("k")]), [kept(id)]);
  });

  test("with uniqueFor, a completed task holds its key until finished_at + uniqueFor; the first row after that takes it", async (t) => {
    const backend = t.backend();
    const id = await createKeyed(backend, "k", { uniqueFor: 1000 });
    const token = await claimIt(backend, id);
    // Completed at T0 + 5 (rows.completed's span): the window ends at T0 + 1005.
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    assert.deepEqual(
      await insertOutcomes(backend, [keyed("k", { createdAt: T0 + 1004 })]),
      [kept(id, "completed")],
    );
    const [next] = await insertOutcomes(backend, [
      keyed("k", { createdAt: T0 + 1005 }),
    ]);
    assert.equal(next?.created, true);
    assert.equal(
      (await calls.taskRow(backend, id)).unique_released_at,
      T0 + 1005,
    );
    assert.deepEqual(await insertOutcomes(backend, [keyed("k")]), [
      kept(next!.id),
    ]);
  });

  if (factory.connections) {
    test("four connections taking an expired window's key at once: one creates the task, the others meet it", async (t) => {
      const backend = t.backend();
      const id = await createKeyed(backend, "k", { uniqueFor: 1000 });
      const token = await claimIt(backend, id);
      assert.equal(await calls.settle(backend, rows.completed(token)), true);
      const connections = [1, 2, 3, 4].map(() => t.connect());
      await Promise.all(connections.map((c) => c.open()));
      const outcomes = (await Promise.all(
        connections.map((c) =>
          insertOutcomes(c, [keyed("k", { createdAt: T0 + 2000 })])
        ),
      )).flat();
      const made = outcomes.filter((o) => o.created);
      assert.equal(made.length, 1, JSON.stringify(outcomes));
      for (const outcome of outcomes) assert.equal(outcome.id, made[0]!.id);
      assert.equal(
        (await calls.taskRow(backend, id)).unique_released_at,
        T0 + 2000,
      );
      assert.deepEqual(await liveWithKey(backend, "k"), [made[0]!.id]);
    });
  }

  test("a window applies after completing only: a task that failed for good or was cancelled gives its key up at once", async (t) => {
    const backend = t.backend();
    const failing = await createKeyed(backend, "k", {
      uniqueFor: 3_600_000,
      maxAttempts: 1,
    });
    const token = await claimIt(backend, failing);
    assert.equal(await calls.settle(backend, rows.failed(token, null)), true);
    const cancelled = await createKeyed(backend, "k", { uniqueFor: 3_600_000 });
    assert.equal((await backend.cancel(cancelled, T0 + 6)).changed, true);
    await createKeyed(backend, "k", { createdAt: T0 + 7 });
  });

  test("replace rewrites a queued holder's run and resets its attempts and last error", async (t) => {
    const backend = t.backend();
    const id = await createKeyed(backend, "k", {
      args: '["old"]',
      priority: 1,
      maxAttempts: 3,
      timeout: 100,
    });
    const token = await claimIt(backend, id);
    assert.equal(
      await calls.settle(backend, rows.failed(token, T0 + 50)),
      true,
    );
    const before = await calls.taskRow(backend, id);
    assert.deepEqual([before.status, before.attempts], ["queued", 1]);
    assert.notEqual(before.error, null);
    const [outcome] = await insertOutcomes(backend, [
      keyed("k", {
        args: '["new"]',
        priority: 7,
        runAt: T0 + 9000,
        maxAttempts: 5,
        timeout: 2500,
        uniqueFor: 60_000,
        createdAt: T0 + 10,
        onDuplicate: "replace",
      }),
    ]);
    assert.deepEqual(outcome, {
      id,
      created: false,
      replaced: true,
      status: "queued",
    });
    const after = await calls.taskRow(backend, id);
    assert.deepEqual(
      [
        after.args,
        after.priority,
        after.run_at,
        after.max_attempts,
        after.timeout_ms,
        after.unique_for,
        after.attempts,
        after.error,
        after.progress,
      ],
      ['["new"]', 7, T0 + 9000, 5, 2500, 60_000, 0, null, null],
    );
    assert.equal(after.created_at, before.created_at, "still the same task");
    assert.deepEqual(
      await calls.attemptRows(backend, id).then((a) => a.length),
      1,
    );
  });

  test("replace never rewrites a running holder or a completed one within its window", async (t) => {
    const backend = t.backend();
    const id = await createKeyed(backend, "k", {
      args: '["old"]',
      uniqueFor: 60_000,
    });
    const token = await claimIt(backend, id);
    const replace = keyed("k", { args: '["new"]', onDuplicate: "replace" });
    assert.deepEqual(await insertOutcomes(backend, [replace]), [
      kept(id, "running"),
    ]);
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    assert.deepEqual(await insertOutcomes(backend, [replace]), [
      kept(id, "completed"),
    ]);
    const row = await calls.taskRow(backend, id);
    assert.deepEqual([row.args, row.status], ['["old"]', "completed"]);
  });

  test('"error" throws DuplicateKeyError naming the key and holder, and a batch with a held key writes none of its rows', async (t) => {
    const backend = t.backend();
    const id = await createKeyed(backend, "k");
    await rejectsDuplicate(
      t,
      backend.insertTasks([keyed("k", { onDuplicate: "error" })]),
      "k",
      id,
    );
    await rejectsDuplicate(
      t,
      insertOutcomes(backend, [
        keyed("a", { onDuplicate: "error" }),
        rows.newTask(),
        keyed("k", { onDuplicate: "error" }),
        keyed("b", { onDuplicate: "error" }),
      ]),
      "k",
      id,
    );
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({ queued: 1 }),
    );
    // Nothing of the refused batch holds its keys.
    await createKeyed(backend, "a");
  });

  test("rows of one batch are applied in order: keep meets the first, replace leaves the last, error refuses the batch", async (t) => {
    const backend = t.backend();
    const keep = await insertOutcomes(backend, [
      keyed("a", { args: "[1]" }),
      keyed("a", { args: "[2]" }),
    ]);
    assert.deepEqual(keep, [created(keep[0]!.id), kept(keep[0]!.id)]);
    assert.equal((await calls.taskRow(backend, keep[0]!.id)).args, "[1]");
    const replace = await insertOutcomes(backend, [
      keyed("b", { args: "[1]", onDuplicate: "replace" }),
      keyed("b", { args: "[2]", onDuplicate: "replace" }),
      keyed("b", { args: "[3]", onDuplicate: "replace" }),
    ]);
    const b = replace[0]!.id;
    assert.deepEqual(replace.map((o) => [o.id, o.created, o.replaced]), [
      [b, true, false],
      [b, false, true],
      [b, false, true],
    ]);
    assert.equal((await calls.taskRow(backend, b)).args, "[3]");
    await rejectsDuplicate(
      t,
      backend.insertTasks([
        keyed("c", { onDuplicate: "error" }),
        keyed("c", { onDuplicate: "error" }),
      ]),
      "c",
      undefined,
    );
    assert.deepEqual(await liveWithKey(backend, "c"), []);
  });

  test("a batch mixing rows with and without keys answers each row in order", async (t) => {
    const backend = t.backend();
    const held = await createKeyed(backend, "held");
    const outcomes = await insertOutcomes(backend, [
      rows.newTask({ args: "[0]" }),
      keyed("x", { args: "[1]" }),
      keyed("held", { args: "[2]" }),
      rows.newTask({ args: "[3]" }),
      keyed("x", { args: "[4]" }),
    ]);
    assert.deepEqual(outcomes.map((o) => o.created), [
      true,
      true,
      false,
      true,
      false,
    ]);
    assert.equal(outcomes[2]!.id, held);
    assert.equal(outcomes[4]!.id, outcomes[1]!.id);
    for (const index of [0, 1, 3]) {
      assert.equal(
        (await calls.taskRow(backend, outcomes[index]!.id)).args,
        `[${index}]`,
      );
    }
    const ids = await backend.insertTasks([keyed("x"), rows.newTask()]);
    assert.equal(ids[0], outcomes[1]!.id);
  });

  test("a batch of 1,200 distinct keys creates them all, and again creates none", async (t) => {
    const backend = t.backend();
    const batch = Array.from(
      { length: 1200 },
      (_, n) => keyed(`k${n}`, { args: `[${n}]` }),
    );
    const first = await insertOutcomes(backend, batch);
    assert.ok(first.every((o) => o.created));
    assert.equal(new Set(first.map((o) => o.id)).size, 1200);
    for (const n of [0, 499, 500, 1199]) {
      assert.equal((await calls.taskRow(backend, first[n]!.id)).args, `[${n}]`);
    }
    const again = await insertOutcomes(backend, batch);
    assert.deepEqual(again, first.map((o) => kept(o.id)));
    assert.equal((await calls.statusCounts(backend)).queued, 1200);
  });

  test("requeue is refused (heldBy) while another task holds the key, and works once it is free", async (t) => {
    const backend = t.backend();
    const failed = await createKeyed(backend, "k", { maxAttempts: 1 });
    const token = await claimIt(backend, failed);
    assert.equal(await calls.settle(backend, rows.failed(token, null)), true);
    const holder = await createKeyed(backend, "k");
    const refused = await backend.requeue(failed, T0 + 10);
    assert.equal(refused.changed, false);
    assert.equal(refused.heldBy, holder);
    assert.equal(refused.row?.status, "failed");
    assert.equal((await backend.cancel(holder, T0 + 11)).changed, true);
    const requeued = await backend.requeue(failed, T0 + 12);
    assert.equal(requeued.changed, true);
    assert.equal(requeued.heldBy, undefined);
    assert.deepEqual(await insertOutcomes(backend, [keyed("k")]), [
      kept(failed),
    ]);
  });

  test("pruning a completed task within its window frees its key", async (t) => {
    const backend = t.backend();
    const id = await createKeyed(backend, "k", { uniqueFor: 3_600_000 });
    const token = await claimIt(backend, id);
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    assert.deepEqual(await insertOutcomes(backend, [keyed("k")]), [
      kept(id, "completed"),
    ]);
    assert.equal(await backend.prune(["completed"], T0 + 6), 1);
    await createKeyed(backend, "k");
  });
}
