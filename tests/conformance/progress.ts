/**
 * Progress: saveProgress stores the latest progress of the running attempt
 * (and only of a running attempt); a new attempt starts without any; a
 * finished task keeps its last.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** Registers the progress tests. */
export function progressTests({ test }: Suite): void {
  test("saveProgress stores the running attempt's latest progress, which the task keeps once finished", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend);
    const token = await calls.claimOne(backend);
    assert.equal(await backend.saveProgress(token, '{"done":1}'), true);
    assert.equal((await calls.taskRow(backend, id)).progress, '{"done":1}');
    assert.equal(await backend.saveProgress(token, '{"done":2}'), true);
    assert.equal((await calls.taskRow(backend, id)).progress, '{"done":2}');
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    assert.equal((await calls.taskRow(backend, id)).progress, '{"done":2}');
    // Finished: no attempt runs, so nothing more is stored.
    assert.equal(await backend.saveProgress(token, '{"done":3}'), false);
    assert.equal((await calls.taskRow(backend, id)).progress, '{"done":2}');
  });

  test("saveProgress stores nothing for a task that is not running", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend);
    const token = { id, workerId: "w1", attempt: 0 };
    assert.equal(await backend.saveProgress(token, '"early"'), false);
    assert.equal(
      await backend.saveProgress({ ...token, attempt: 1 }, '"early"'),
      false,
    );
    assert.equal((await calls.taskRow(backend, id)).progress, null);
  });

  test("a new attempt starts without the progress of the one before", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend);
    const first = await calls.claimOne(backend);
    assert.equal(await backend.saveProgress(first, '"half"'), true);
    assert.equal(await calls.settle(backend, rows.failed(first, T0)), true);
    const second = await calls.claimOne(backend);
    assert.equal((await calls.taskRow(backend, id)).progress, null);
    assert.equal(await backend.saveProgress(second, '"again"'), true);
    assert.equal(await calls.settle(backend, rows.interrupted(second)), true);
    await calls.claimOne(backend);
    assert.equal((await calls.taskRow(backend, id)).progress, null);
  });
}
