/**
 * Inspection: reading one task and its history, listing (newest first, with
 * filters and pages), and the counts by status, by name, and of due work no
 * running worker handles.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/** Registers the inspection tests. */
export function inspectionTests({ test }: Suite): void {
  test("getTask and getAttempts of a missing task: undefined and []", async (t) => {
    const backend = t.backend();
    assert.equal(await backend.getTask(12345), undefined);
    assert.deepEqual(await backend.getAttempts(12345), []);
  });

  test("listTasks lists newest first, filtered by status and name, a page at a time", async (t) => {
    const backend = t.backend();
    const ids = await backend.insertTasks([
      rows.newTask({ name: "a" }),
      rows.newTask({ name: "b" }),
      rows.newTask({ name: "a" }),
      rows.newTask({ name: "b" }),
      rows.newTask({ name: "a" }),
    ]);
    const [a1, b2, a3, b4, a5] = ids;
    await calls.claimOne(backend, { names: ["a"] }); // a1 runs
    const listed = async (query: Parameters<typeof backend.listTasks>[0]) =>
      (await backend.listTasks(query)).map((row) => row.id);
    assert.deepEqual(await listed({ limit: 10 }), [a5, b4, a3, b2, a1]);
    assert.deepEqual(await listed({ limit: 2 }), [a5, b4]);
    assert.deepEqual(await listed({ limit: 2, beforeId: b4 }), [a3, b2]);
    assert.deepEqual(await listed({ limit: 10, name: "a" }), [a5, a3, a1]);
    assert.deepEqual(
      await listed({ limit: 10, statuses: ["running"] }),
      [a1],
    );
    assert.deepEqual(
      await listed({ limit: 10, statuses: ["queued"], name: "b" }),
      [b4, b2],
    );
    assert.deepEqual(
      await listed({ limit: 10, statuses: ["running", "completed"] }),
      [a1],
    );
    assert.deepEqual(await listed({ limit: 10, statuses: [] }), []);
    assert.deepEqual(await listed({ limit: 10, name: "c" }), []);
  });

  test("countByStatus and countByName count every task, names in order", async (t) => {
    const backend = t.backend();
    assert.deepEqual(await calls.statusCounts(backend), rows.counts({}));
    assert.deepEqual(await backend.countByName(), []);
    await backend.insertTasks([
      rows.newTask({ name: "b" }),
      rows.newTask({ name: "a" }),
      rows.newTask({ name: "b" }),
      rows.newTask({ name: "c" }),
    ]);
    const token = await calls.claimOne(backend, { names: ["b"] });
    assert.equal(await calls.settle(backend, rows.completed(token)), true);
    await calls.claimOne(backend, { names: ["c"] });
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({ queued: 2, running: 1, completed: 1 }),
    );
    const byName = (await backend.countByName()).map((row) => ({ ...row }));
    assert.deepEqual(byName.map((row) => row.name), ["a", "b", "b", "c"]);
    assert.deepEqual(
      byName.sort((x, y) =>
        x.name.localeCompare(y.name) || x.status.localeCompare(y.status)
      ),
      [
        { name: "a", status: "queued", count: 1 },
        { name: "b", status: "completed", count: 1 },
        { name: "b", status: "queued", count: 1 },
        { name: "c", status: "running", count: 1 },
      ],
    );
  });

  test("countDueExcept counts due queued tasks of other names, per name, reading at most its limit", async (t) => {
    const backend = t.backend();
    await backend.insertTasks([
      ...rows.tasks(3, { name: "x" }),
      ...rows.tasks(2, { name: "y" }),
      rows.newTask({ name: "y", runAt: T0 + 1 }), // not due
      rows.newTask({ name: "mine" }),
      rows.newTask({ name: "z" }),
    ]);
    await calls.claim(backend, { names: ["z"] }); // running, so not counted
    const due = async (names: string[], limit: number) =>
      (await backend.countDueExcept({ names, now: T0, limit }))
        .map((row) => ({ ...row }));
    assert.deepEqual(await due(["mine"], 100), [
      { name: "x", count: 3 },
      { name: "y", count: 2 },
    ]);
    assert.deepEqual(await due([], 100), [
      { name: "mine", count: 1 },
      { name: "x", count: 3 },
      { name: "y", count: 2 },
    ]);
    const bounded = await due(["mine"], 4);
    assert.equal(bounded.reduce((sum, row) => sum + row.count, 0), 4);
    // Three x and two y match: any four of them include both names.
    assert.deepEqual(bounded.map((row) => row.name), ["x", "y"]);
    assert.deepEqual(await due(["mine", "x", "y"], 100), []);
  });
}
