/**
 * Workflows on each backend: tasks that wait for other tasks. A step waits
 * until its last parent completes and is queued by that settlement (never
 * twice, also when parents complete at once on several connections); a
 * graph is refused whole for a cycle, a self-dependency, a step of another
 * workflow or an unknown id; a parent that fails or is cancelled cancels
 * its dependents transitively (reason recorded) unless they run anyway;
 * requeueing it brings them back; a running child reads its parents'
 * results through a real Worker; a fan-out and fan-in of 10,000 completes.
 *
 * @module
 */
import assert from "node:assert/strict";
import type {
  Backend,
  ClaimedTask,
  Settlement,
} from "../../lib/storage/backend.ts";
import type { TaskContext } from "../../mod.ts";
import { claim, statusCounts, taskRow } from "./calls.ts";
import type { Suite, TestContext } from "./harness.ts";
import { waitFor } from "./harness.ts";
import { completed, counts, failed, T0 } from "./rows.ts";

/** A queue with "job" (returns its argument) on the test's backend. */
function jobQueue(t: TestContext, backend: Backend = t.backend()) {
  const queue = new t.sitq.TaskQueue(backend);
  const job = queue.task("job", (n: number) => n, { maxAttempts: 1 });
  return { queue, job };
}

/** The token of a claimed task, for settlements. */
function token(task: ClaimedTask, workerId = "w1") {
  return { id: task.id, workerId, attempt: task.attempt };
}

/** Claims every due "job" (in batches of 500); returns them by id. */
async function claimAll(backend: Backend): Promise<Map<number, ClaimedTask>> {
  const all = new Map<number, ClaimedTask>();
  for (;;) {
    const batch = await claim(backend, { limit: 500 });
    for (const task of batch) all.set(task.id, task);
    if (batch.length < 500) return all;
  }
}

/** `settlements` in one settle-and-claim; asserts every one applied. */
async function settleAll(
  backend: Backend,
  settlements: readonly Settlement[],
): Promise<void> {
  const { applied } = await backend.settleAndClaim(settlements, undefined);
  assert.deepEqual(applied, settlements.map(() => true));
}

/** The statuses of tasks `ids`, in order. */
async function statuses(backend: Backend, ids: readonly number[]) {
  const out: string[] = [];
  for (const id of ids) out.push((await taskRow(backend, id)).status);
  return out;
}

/** Registers the workflow tests. */
export function workflowTests({ test, factory }: Suite): void {
  test("a step waits for its last parent and is queued by that settlement, once", async (t) => {
    const backend = t.backend();
    const { queue, job } = jobQueue(t);
    const flow = new t.sitq.Workflow();
    const a = flow.add(job, [1]);
    const b = flow.add(job, [2]);
    const c = flow.add(job, [3], { dependsOn: [a, b, a] });
    const ids = await queue.enqueueWorkflow(flow);
    assert.equal(ids.ids.length, 3);
    assert.deepEqual(await statuses(backend, ids.ids), [
      "queued",
      "queued",
      "waiting",
    ]);
    assert.deepEqual(await queue.getResult(ids.of(c)), {
      status: "waiting",
      attempts: 0,
      waitingFor: 2,
    });
    assert.deepEqual(
      await statusCounts(backend),
      counts({ waiting: 1, queued: 2 }),
    );
    const claimed = await claimAll(backend);
    assert.deepEqual([...claimed.keys()].sort(), [ids.of(a), ids.of(b)]);
    const first = completed(token(claimed.get(ids.of(a))!));
    await settleAll(backend, [first]);
    assert.equal((await taskRow(backend, ids.of(c))).status, "waiting");
    assert.equal((await taskRow(backend, ids.of(c))).pending_parents, 1);
    // A stale repeat of the first settlement changes nothing.
    const again = await backend.settleAndClaim([first], undefined);
    assert.deepEqual(again.applied, [false]);
    assert.equal((await taskRow(backend, ids.of(c))).pending_parents, 1);
    const last = await backend.settleAndClaim(
      [completed(token(claimed.get(ids.of(b))!))],
      undefined,
    );
    assert.deepEqual(last.applied, [true]);
    assert.equal(typeof last.releasedRunAt, "number");
    const child = await taskRow(backend, ids.of(c));
    assert.equal(child.status, "queued");
    assert.equal(child.pending_parents, 0);
    const next = await claim(backend, { limit: 10 });
    assert.deepEqual(next.map((task) => task.id), [ids.of(c)]);
    assert.deepEqual(await claim(backend, { limit: 10 }), []);
  });

  test(
    "parents completing at once on several connections release their child exactly once",
    async (t) => {
      const parents = 24;
      const backend = t.backend();
      const { queue, job } = jobQueue(t);
      const flow = new t.sitq.Workflow();
      const steps = Array.from(
        { length: parents },
        (_, n) => flow.add(job, [n]),
      );
      const sink = flow.add(job, [-1], { dependsOn: steps });
      const ids = await queue.enqueueWorkflow(flow);
      const claimed = [...(await claimAll(backend)).values()];
      assert.equal(claimed.length, parents);
      const connections = factory.connections
        ? [backend, t.connect(), t.connect(), t.connect()]
        : [backend];
      // Every parent settled alone, from all connections at once: on
      // PostgreSQL these are concurrent transactions.
      const results = await Promise.all(
        claimed.map((task, index) =>
          connections[index % connections.length]!.settleAndClaim(
            [completed(token(task))],
            undefined,
          )
        ),
      );
      assert.ok(results.every((result) => result.applied[0] === true));
      assert.equal(
        results.filter((result) => result.releasedRunAt !== undefined).length,
        1,
        "exactly one settlement released the child",
      );
      const child = await taskRow(backend, ids.of(sink));
      assert.equal(child.status, "queued");
      assert.equal(child.pending_parents, 0);
      const next = await claim(backend, { limit: 10 });
      assert.deepEqual(next.map((task) => task.id), [ids.of(sink)]);
    },
    { timeout: 60_000 },
  );

  test("cycles, self-dependencies, foreign steps and unknown ids are refused with nothing written", async (t) => {
    const { queue, job } = jobQueue(t);
    const { WorkflowError } = t.sitq;
    const refused = async (
      flow: InstanceType<typeof t.sitq.Workflow>,
      reason: string,
    ) => {
      await assert.rejects(queue.enqueueWorkflow(flow), (error: unknown) => {
        assert.ok(error instanceof WorkflowError, String(error));
        assert.equal(error.code, "INVALID_WORKFLOW");
        assert.equal(error.reason, reason);
        return true;
      });
    };
    // A cycle: the first step's dependency list gets the second step once
    // it exists (add() keeps the list it was given).
    const loop = new t.sitq.Workflow();
    const later: unknown[] = [];
    const x = loop.add(job, [1], { dependsOn: later as never });
    const y = loop.add(job, [2], { dependsOn: [x] });
    later.push(y);
    await refused(loop, "cycle");

    const self: unknown[] = [];
    const own = new t.sitq.Workflow();
    const z = own.add(job, [3], { dependsOn: self as never });
    self.push(z);
    await refused(own, "self-dependency");

    const other = new t.sitq.Workflow();
    const foreign = other.add(job, [4]);
    const mixed = new t.sitq.Workflow();
    mixed.add(job, [5], { dependsOn: [foreign] });
    await refused(mixed, "unknown-step");

    const unknown = new t.sitq.Workflow();
    unknown.add(job, [6]);
    unknown.add(job, [7], { dependsOn: [987_654 as never] });
    await assert.rejects(queue.enqueueWorkflow(unknown), (error: unknown) => {
      assert.ok(error instanceof WorkflowError);
      assert.equal(error.reason, "unknown-task");
      assert.deepEqual(error.taskIds, [987_654]);
      return true;
    });
    assert.deepEqual(await statusCounts(t.backend()), counts({}));
    // The Backend refuses a cycle by itself too.
    await assert.rejects(
      t.backend().insertGraph([
        { ...row(), parents: [{ index: 1, runAnyway: false }] },
        { ...row(), parents: [{ index: 0, runAnyway: false }] },
      ]),
      (error: unknown) => error instanceof WorkflowError,
    );
    assert.deepEqual(await statusCounts(t.backend()), counts({}));
  });

  test("a parent that fails cancels its dependents transitively, reason recorded; run-anyway ones run; requeue brings them back", async (t) => {
    const backend = t.backend();
    const { queue, job } = jobQueue(t);
    const flow = new t.sitq.Workflow();
    const a = flow.add(job, [1]);
    const b = flow.add(job, [2], { dependsOn: [a] });
    const c = flow.add(job, [3], { dependsOn: [b] });
    flow.add(job, [4], { dependsOn: [{ on: b, runAnyway: true }] });
    flow.add(job, [5], { dependsOn: [{ on: a, runAnyway: true }] });
    const ids = await queue.enqueueWorkflow(flow);
    const [root] = await claim(backend, { limit: 10 });
    assert.equal(root!.id, ids.of(a));
    await settleAll(backend, [failed(token(root!), null)]);
    assert.deepEqual(await statuses(backend, ids.ids), [
      "failed",
      "cancelled",
      "cancelled",
      "queued",
      "queued",
    ]);
    const bResult = await queue.getResult(ids.of(b));
    assert.equal(bResult.status, "cancelled");
    assert.equal(
      bResult.status === "cancelled" && bResult.reason?.code,
      "PARENT_FAILED",
    );
    assert.match(
      bResult.status === "cancelled" ? bResult.reason!.message : "",
      new RegExp(`task ${ids.of(a)}\\b`),
    );
    const cRecord = await queue.getTask(ids.of(c));
    assert.equal(cRecord.cancelledBy, ids.of(b));
    assert.equal(
      cRecord.result.status === "cancelled" && cRecord.result.reason?.code,
      "PARENT_CANCELLED",
    );
    // b cannot be requeued while a is failed: it would wait forever.
    await assert.rejects(queue.requeue(ids.of(b)), { code: "INVALID_STATE" });
    await queue.requeue(ids.of(a));
    assert.deepEqual(await statuses(backend, ids.ids), [
      "queued",
      "waiting",
      "waiting",
      "queued",
      "queued",
    ]);
    assert.equal((await queue.getTask(ids.of(c))).cancelledBy, undefined);
    // The requeued parent completes: b is released, then c after b.
    const again = await claim(backend, { limit: 10 });
    const byId = new Map(again.map((task) => [task.id, task]));
    await settleAll(backend, [completed(token(byId.get(ids.of(a))!))]);
    assert.equal((await taskRow(backend, ids.of(b))).status, "queued");
    assert.equal((await taskRow(backend, ids.of(c))).status, "waiting");
  });

  test("cancelling a waiting or queued task cancels what depends on it", async (t) => {
    const backend = t.backend();
    const { queue, job } = jobQueue(t);
    const flow = new t.sitq.Workflow();
    const a = flow.add(job, [1]);
    const b = flow.add(job, [2], { dependsOn: [a] });
    const c = flow.add(job, [3], { dependsOn: [b] });
    flow.add(job, [4], { dependsOn: [{ on: c, runAnyway: true }] });
    const ids = await queue.enqueueWorkflow(flow);
    await queue.cancel(ids.of(b));
    assert.deepEqual(await statuses(backend, ids.ids), [
      "queued",
      "cancelled",
      "cancelled",
      "queued",
    ]);
    const cResult = await queue.getResult(ids.of(c));
    assert.equal(
      cResult.status === "cancelled" && cResult.reason?.code,
      "PARENT_CANCELLED",
    );
    // A user's cancel records no reason.
    const bResult = await queue.getResult(ids.of(b));
    assert.deepEqual(bResult, { status: "cancelled", attempts: 0 });
    await queue.requeue(ids.of(b));
    assert.deepEqual(await statuses(backend, ids.ids), [
      "queued",
      "waiting",
      "waiting",
      "queued",
    ]);
  });

  test("a step may depend on stored tasks: completed, still running, failed", async (t) => {
    const backend = t.backend();
    const { queue, job } = jobQueue(t);
    const done = await queue.enqueue(job, 1);
    const busy = await queue.enqueue(job, 2);
    const broken = await queue.enqueue(job, 3);
    const claimed = await claimAll(backend);
    await settleAll(backend, [
      completed(token(claimed.get(done)!)),
      failed(token(claimed.get(broken)!), null),
    ]);
    const flow = new t.sitq.Workflow();
    const afterDone = flow.add(job, [4], { dependsOn: [done] });
    const afterBusy = flow.add(job, [5], { dependsOn: [busy, afterDone] });
    const afterBroken = flow.add(job, [6], { dependsOn: [broken] });
    const anyway = flow.add(job, [7], {
      dependsOn: [{ on: broken, runAnyway: true }],
    });
    const ids = await queue.enqueueWorkflow(flow);
    assert.deepEqual(
      await statuses(
        backend,
        [afterDone, afterBusy, afterBroken, anyway].map(
          (step) => ids.of(step),
        ),
      ),
      ["queued", "waiting", "cancelled", "queued"],
    );
    await settleAll(backend, [completed(token(claimed.get(busy)!))]);
    assert.equal(
      (await taskRow(backend, ids.of(afterBusy))).pending_parents,
      1,
    );
  });

  test("a running child reads its parents' results through a Worker; the last step's result is awaited like any task's", async (t) => {
    const queue = new t.sitq.TaskQueue(t.backend());
    const download = queue.task(
      "download",
      (url: string) => ({ file: `${url}.csv`, rows: 1000 }),
    );
    const boom = queue.task("boom", () => {
      throw new Error("no network");
    }, { maxAttempts: 1 });
    const analyse = queue.task(
      "analyse",
      async function (this: TaskContext, label: string) {
        const data = await this.parentResult(download);
        const parents = await this.parents();
        return {
          label,
          rows: data.rows,
          parents: parents.map((parent) => [parent.name, parent.result.status]),
        };
      },
    );
    const flow = new t.sitq.Workflow("pipeline");
    const fetched = flow.add(download, ["data"]);
    const failing = flow.add(boom, []);
    const report = flow.add(analyse, ["report"], {
      dependsOn: [fetched, { on: failing, runAnyway: true }],
    });
    const ids = await queue.enqueueWorkflow(flow);
    const worker = queue.worker({ concurrency: 4, pollInterval: 50 });
    await worker.start();
    t.defer(() => worker.stop());
    const result = await queue.waitForResult(ids.of(report), {
      timeout: 15_000,
    });
    assert.deepEqual(result, {
      status: "completed",
      value: {
        label: "report",
        rows: 1000,
        parents: [["download", "completed"], ["boom", "failed"]],
      },
      attempts: 1,
    });
  });

  test(
    "a fan-out to 10,000 and a fan-in back to one complete, each step released once",
    async (t) => {
      const width = 10_000;
      const backend = t.backend();
      const { queue, job } = jobQueue(t);
      const flow = new t.sitq.Workflow("fan");
      const root = flow.add(job, [0]);
      const middle = Array.from(
        { length: width },
        (_, n) => flow.add(job, [n], { dependsOn: [root] }),
      );
      const sink = flow.add(job, [-1], { dependsOn: middle });
      const ids = await queue.enqueueWorkflow(flow);
      assert.equal(ids.ids.length, width + 2);
      assert.deepEqual(
        await statusCounts(backend),
        counts({ queued: 1, waiting: width + 1 }),
      );
      const [first] = await claim(backend, { limit: 10 });
      await settleAll(backend, [completed(token(first!))]);
      assert.deepEqual(
        await statusCounts(backend),
        counts({ queued: width, waiting: 1, completed: 1 }),
      );
      const claimed = [...(await claimAll(backend)).values()];
      assert.equal(claimed.length, width);
      let released = 0;
      for (let start = 0; start < width; start += 500) {
        const result = await backend.settleAndClaim(
          claimed.slice(start, start + 500).map((task) =>
            completed(token(task))
          ),
          undefined,
        );
        if (result.releasedRunAt !== undefined) released++;
      }
      assert.equal(released, 1);
      assert.deepEqual(
        await statusCounts(backend),
        counts({ queued: 1, completed: width + 1 }),
      );
      const [last] = await claim(backend, { limit: 10 });
      assert.equal(last!.id, ids.of(sink));
    },
    { timeout: 120_000 },
  );

  test("a workflow enqueued in the caller's transaction commits or rolls back whole", async (t) => {
    const backend = (factory.connections ? t.connect() : t.backend()) as
      & Backend
      & { transaction<T>(fn: (trx: never) => Promise<T>): Promise<T> };
    const { queue, job } = jobQueue(t, backend);
    const flow = new t.sitq.Workflow();
    const a = flow.add(job, [1]);
    flow.add(job, [2], { dependsOn: [a] });
    await assert.rejects(
      backend.transaction(async (trx) => {
        await queue.inTransaction(trx).enqueueWorkflow(flow);
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.deepEqual(await statusCounts(backend), counts({}));
    const ids = await backend.transaction((trx) =>
      queue.inTransaction(trx).enqueueWorkflow(flow)
    );
    assert.deepEqual(await statuses(backend, ids.ids), ["queued", "waiting"]);
    await waitFor(async () => (await queue.stats()).waiting === 1, "visible");
  });
}

/** A bare graph row for Backend-level calls. */
function row() {
  return {
    name: "job",
    args: "[]",
    priority: 0,
    runAt: T0,
    maxAttempts: 1,
    timeout: null,
    createdAt: T0,
  };
}
