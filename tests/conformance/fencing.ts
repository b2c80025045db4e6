/**
 * Fencing: a write about an attempt (its settlement, a lease renewal,
 * progress) counts only while its FencingToken still names the running
 * attempt. A late or stale one changes nothing at all: not the task, not its
 * history.
 *
 * @module
 */
import assert from "node:assert/strict";
import type {
  Backend,
  FencingToken,
  Settlement,
} from "../../lib/storage/backend.ts";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/**
 * A task worker "w1" claimed (attempt 1) and lost: its lease expired, the
 * lease was recovered, and worker "w2" claimed attempt 2; and another task
 * that worker "w3" runs. Returns the three tokens: w1's "stale", w2's
 * "current", w3's "other".
 */
async function supersededTask(
  backend: Backend,
  thief: Backend = backend,
): Promise<Record<"stale" | "current" | "other", FencingToken>> {
  await calls.insertOne(backend);
  const stale = await calls.claimOne(backend, {
    workerId: "w1",
    leaseDuration: 100,
  });
  assert.deepEqual(
    await thief.recoverExpiredLeases(
      T0 + 101,
      rows.storedError("lease expired"),
    ),
    [stale.id],
  );
  const current = await calls.claimOne(thief, {
    workerId: "w2",
    now: T0 + 102,
  });
  assert.deepEqual(current, { id: stale.id, workerId: "w2", attempt: 2 });
  await calls.insertOne(backend);
  const other = await calls.claimOne(thief, { workerId: "w3", now: T0 + 200 });
  return { stale, current, other };
}

/** Every kind of settlement `token` could write. */
function everySettlement(token: FencingToken): [string, Settlement][] {
  return [
    ["completed", rows.completed(token, '"late"')],
    ["failed, to retry", rows.failed(token, T0 + 1000)],
    ["failed for good", rows.failed(token, null)],
    [
      "timed out",
      rows.failed(token, null, rows.storedError("slow"), "timed_out"),
    ],
    ["interrupted", rows.interrupted(token)],
  ];
}

/**
 * Asserts that `write` changes nothing on task `id`: the row and its history
 * read the same before and after.
 */
async function expectUnchanged(
  backend: Backend,
  id: number,
  write: () => Promise<void>,
): Promise<void> {
  const before = [
    await calls.taskRow(backend, id),
    await calls.attemptRows(backend, id),
  ];
  await write();
  const after = [
    await calls.taskRow(backend, id),
    await calls.attemptRows(backend, id),
  ];
  assert.deepEqual(after, before);
}

/**
 * Asserts that a settlement of `token`'s attempt, of every outcome in turn,
 * is refused and changes nothing.
 */
async function expectEverySettlementFenced(
  backend: Backend,
  token: FencingToken,
): Promise<void> {
  for (const [outcome, settlement] of everySettlement(token)) {
    await expectUnchanged(backend, token.id, async () => {
      assert.equal(await calls.settle(backend, settlement), false, outcome);
    });
  }
}

/** Registers the fencing tests. */
export function fencingTests({ test, factory }: Suite): void {
  test("a late settlement of a superseded attempt, of any outcome, changes nothing", async (t) => {
    const backend = t.backend();
    const { stale } = await supersededTask(backend);
    await expectEverySettlementFenced(backend, stale);
    assert.equal((await calls.taskRow(backend, stale.id)).worker_id, "w2");
  });

  test("a settlement naming another worker, or another attempt, changes nothing", async (t) => {
    const backend = t.backend();
    const { current } = await supersededTask(backend);
    const wrong: FencingToken[] = [
      { ...current, workerId: "w3" },
      { ...current, attempt: 3 },
      { ...current, attempt: 1 },
      { ...current, id: current.id + 1000 },
    ];
    for (const token of wrong) {
      await expectUnchanged(backend, current.id, async () => {
        assert.equal(
          await calls.settle(backend, rows.completed(token)),
          false,
        );
      });
    }
    assert.equal(await calls.settle(backend, rows.completed(current)), true);
  });

  test("a second settlement of an attempt already settled changes nothing", async (t) => {
    const backend = t.backend();
    await calls.insertOne(backend);
    const token = await calls.claimOne(backend);
    assert.equal(
      await calls.settle(backend, rows.completed(token, '"first"')),
      true,
    );
    await expectEverySettlementFenced(backend, token);
    assert.equal((await calls.taskRow(backend, token.id)).result, '"first"');
  });

  test("a worker interrupted and replaced on the same attempt number is fenced by its worker id", async (t) => {
    const backend = t.backend();
    await calls.insertOne(backend);
    const first = await calls.claimOne(backend, { workerId: "w1" });
    assert.equal(await calls.settle(backend, rows.interrupted(first)), true);
    const second = await calls.claimOne(backend, { workerId: "w2" });
    assert.deepEqual(second, { ...first, workerId: "w2" });
    await expectUnchanged(backend, first.id, async () => {
      assert.equal(await calls.settle(backend, rows.completed(first)), false);
    });
  });

  test("in one batch, fenced and valid settlements are told apart", async (t) => {
    const backend = t.backend();
    const { stale, current, other } = await supersededTask(backend);
    const { applied } = await backend.settleAndClaim([
      rows.completed(stale, '"stale"'),
      rows.completed(other, '"other"'),
      rows.failed(current, null),
    ], undefined);
    assert.deepEqual(applied, [false, true, true]);
    assert.equal((await calls.taskRow(backend, other.id)).result, '"other"');
    const task = await calls.taskRow(backend, current.id);
    assert.equal(task.status, "failed");
    assert.equal(task.result, null);
  });

  test("in one batch of completions, the fenced ones change nothing and each valid one stores its own result and end", async (t) => {
    const backend = t.backend();
    const tokens: FencingToken[] = [];
    for (let i = 0; i < 9; i++) {
      await calls.insertOne(backend);
      tokens.push(await calls.claimOne(backend, { workerId: "w1" }));
    }
    const [a, b, c, d, e, f, g, h, k] = tokens as [
      FencingToken,
      FencingToken,
      FencingToken,
      FencingToken,
      FencingToken,
      FencingToken,
      FencingToken,
      FencingToken,
      FencingToken,
    ];
    const before = await calls.taskRow(backend, b.id);
    // Five completions (a batch of 8 rows, the last one repeated), the
    // last one valid.
    const { applied } = await backend.settleAndClaim([
      rows.completed(a, '"a"'),
      rows.completed({ ...b, attempt: 2 }, '"b"'),
      rows.completed(c, null, { startedAt: T0, finishedAt: T0 + 7 }),
      rows.failed(e, null),
      rows.completed({ ...d, workerId: "w9" }, '"d"'),
      rows.completed(f, '"f"'),
    ], undefined);
    assert.deepEqual(applied, [true, false, true, true, false, true]);
    assert.equal((await calls.taskRow(backend, f.id)).result, '"f"');
    // Three completions (4 rows), the last one fenced.
    const second = await backend.settleAndClaim([
      rows.completed(g, '"g"'),
      rows.completed(h, '"h"'),
      rows.completed({ ...k, attempt: 5 }, '"k"'),
    ], undefined);
    assert.deepEqual(second.applied, [true, true, false]);
    assert.equal((await calls.taskRow(backend, h.id)).result, '"h"');
    assert.equal((await calls.taskRow(backend, k.id)).status, "running");
    const taskA = await calls.taskRow(backend, a.id);
    assert.deepEqual(
      [taskA.status, taskA.result, taskA.finished_at, taskA.lease_expires_at],
      ["completed", '"a"', T0 + 5, null],
    );
    const taskC = await calls.taskRow(backend, c.id);
    assert.deepEqual(
      [taskC.status, taskC.result, taskC.finished_at],
      ["completed", null, T0 + 7],
    );
    assert.deepEqual(await calls.taskRow(backend, b.id), before);
    const taskD = await calls.taskRow(backend, d.id);
    assert.deepEqual([taskD.status, taskD.result], ["running", null]);
    assert.equal((await calls.taskRow(backend, e.id)).status, "failed");
    assert.deepEqual(
      (await calls.attemptRows(backend, a.id)).map((row) => row.outcome),
      ["completed"],
    );
    assert.deepEqual(await calls.attemptRows(backend, d.id), []);
  });

  test("a stale token renews no lease", async (t) => {
    const backend = t.backend();
    const { stale, current, other } = await supersededTask(backend);
    const staleLease =
      (await calls.taskRow(backend, stale.id)).lease_expires_at;
    const renewed = await backend.renewLeases(
      [stale, other, { ...current, attempt: 1 }],
      T0 + 99_000,
    );
    assert.deepEqual([...renewed], [other.id]);
    assert.equal(
      (await calls.taskRow(backend, stale.id)).lease_expires_at,
      staleLease,
    );
    assert.equal(
      (await calls.taskRow(backend, other.id)).lease_expires_at,
      T0 + 99_000,
    );
  });

  test("a stale token saves no progress", async (t) => {
    const backend = t.backend();
    const { stale, current } = await supersededTask(backend);
    assert.equal(await backend.saveProgress(current, '"mine"'), true);
    await expectUnchanged(backend, stale.id, async () => {
      assert.equal(await backend.saveProgress(stale, '"late"'), false);
    });
    assert.equal(
      (await calls.taskRow(backend, current.id)).progress,
      '"mine"',
    );
  });

  if (factory.connections) {
    test("an attempt recovered and re-claimed through another connection fences the first connection's late writes", async (t) => {
      const first = t.connect();
      const second = t.connect();
      const { stale, current } = await supersededTask(first, second);
      await expectUnchanged(second, stale.id, async () => {
        assert.equal(await calls.settle(first, rows.completed(stale)), false);
        assert.equal(await first.saveProgress(stale, '"late"'), false);
        assert.equal((await first.renewLeases([stale], T0 + 1e6)).size, 0);
      });
      assert.equal(
        await calls.settle(first, rows.completed(current, '"w2"')),
        true,
      );
      assert.equal((await calls.taskRow(second, current.id)).result, '"w2"');
    });
  }
}
