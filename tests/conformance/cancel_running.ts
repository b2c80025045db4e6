/**
 * Cancelling a running task (schema v9 era): through the Backend, a cancel
 * ends the task `cancelled` at once with its lease cleared, so the
 * worker's renewal, progress and settlement are fenced out, it is never
 * retried, its key is free and its dependents are cancelled; through the
 * queue, the worker running it (in this process, or in another one) aborts
 * the handler's signal with `CancelledError` and ignores its late result.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describeClaimer, ready, spawnClaimer } from "./claim_processes.ts";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { LONG_LEASE, T0 } from "./rows.ts";

const PROCESS = fileURLToPath(
  new URL("../fixtures/task_events_process.mjs", import.meta.url),
);

/** Polls `check` every 20 ms until it holds; the test's hang guard bounds it. */
async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Registers the cancel-running tests. */
export function cancelRunningTests({ test, factory }: Suite): void {
  test("cancel ends a running task cancelled at once, fencing out its worker's renewal, progress and settlement", async (t) => {
    const backend = t.backend();
    const id = await calls.insertOne(backend, { maxAttempts: 3 });
    const token = await calls.claimOne(backend, {
      now: T0 + 1,
      leaseDuration: LONG_LEASE,
    });
    assert.equal(token.id, id);
    const { changed, row } = await backend.cancel(id, T0 + 10);
    assert.equal(changed, true);
    assert.equal(row?.status, "cancelled");
    assert.equal(row?.finished_at, T0 + 10);
    assert.equal(row?.lease_expires_at, null);
    assert.deepEqual(await backend.cancelledAmong([id, id + 1000]), [id]);
    assert.deepEqual([...await backend.renewLeases([token], T0 + 99)], []);
    assert.equal(await backend.saveProgress(token, '"late"'), false);
    assert.equal(
      await calls.settle(
        backend,
        rows.failed(token, T0 + 20),
      ),
      false,
    );
    assert.equal(await calls.settle(backend, rows.completed(token)), false);
    const after = await calls.taskRow(backend, id);
    assert.equal(after.status, "cancelled");
    assert.equal(after.attempts, 1);
    assert.equal(after.result, null);
    // Not retried: nothing claims it again, however late.
    assert.deepEqual(await calls.claim(backend, { now: T0 + 1e9 }), []);
    // Cancelling it again is a no-op, as for a queued task.
    assert.equal((await backend.cancel(id, T0 + 30)).changed, false);
  });

  test("a cancelled running task gives up its unique key and cancels the steps that depend on it", async (t) => {
    const backend = t.backend();
    const [keyed] = await backend.insertTasks([
      rows.newTask({ name: "k", uniqueKey: "user:1" }),
    ]);
    await calls.claimOne(backend, { names: ["k"], now: T0 + 1 });
    await backend.cancel(keyed!, T0 + 2);
    const [again] = await backend.insertTasks(
      [rows.newTask({ name: "k", uniqueKey: "user:1" })],
      { outcomes: true },
    );
    assert.equal(again?.created, true);
    const [parent, child] = await backend.insertGraph([
      { ...rows.newTask({ name: "p" }), parents: [] },
      {
        ...rows.newTask({ name: "c" }),
        parents: [{ index: 0, runAnyway: false }],
      },
    ]);
    await calls.claimOne(backend, { names: ["p"], now: T0 + 1 });
    assert.equal((await backend.cancel(parent!, T0 + 3)).changed, true);
    assert.equal((await calls.taskRow(backend, child!)).status, "cancelled");
  });

  test("cancelTasks cancels running tasks as cancel does", async (t) => {
    const backend = t.backend();
    await backend.insertTasks(rows.tasks(3));
    const claimed = await calls.claim(backend, { limit: 2, now: T0 + 1 });
    const count = await backend.cancelTasks(
      { statuses: ["running"] },
      T0 + 5,
    );
    assert.equal(count, 2);
    assert.deepEqual(
      (await backend.cancelledAmong(claimed.map((task) => task.id))).sort(),
      claimed.map((task) => task.id).sort(),
    );
    for (const task of claimed) {
      const row = await calls.taskRow(backend, task.id);
      assert.equal(row.status, "cancelled");
      assert.equal(row.lease_expires_at, null);
    }
    assert.deepEqual(
      await calls.statusCounts(backend),
      rows.counts({ queued: 1, cancelled: 2 }),
    );
  });

  test("a worker aborts a handler whose running task is cancelled, with CancelledError, and ignores its late result", async (t) => {
    const { sitq } = t;
    const queue = new sitq.TaskQueue(t.backend());
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => release = resolve);
    let reason: unknown;
    let returned = false;
    const hold = queue.task("hold", async function () {
      this.signal.addEventListener("abort", () => reason = this.signal.reason);
      await released;
      returned = true;
      return "late";
    }, { maxAttempts: 3 });
    const id = await queue.enqueue(hold);
    const worker = queue.worker({ pollInterval: 50 });
    await worker.start();
    try {
      await waitFor(async () =>
        (await queue.getResult(id)).status === "running"
      );
      await queue.cancel(id);
      await waitFor(() => reason !== undefined);
      assert.ok(reason instanceof sitq.CancelledError);
      assert.equal(
        (reason as InstanceType<typeof sitq.CancelledError>).code,
        "CANCELLED",
      );
      release();
      await waitFor(() => returned);
    } finally {
      release();
      await worker.stop();
    }
    assert.deepEqual(await queue.getResult(id), {
      status: "cancelled",
      attempts: 1,
    });
    assert.equal(worker.stats().completed, 0);
  });

  if (!factory.processes) return;

  test(
    "a running task cancelled from another process aborts there with CancelledError, ends cancelled and is not retried",
    async (t) => {
      const store = t.store();
      await store.backend.open();
      const child = spawnClaimer(
        { store: store.spec, role: "worker" },
        t.sitqModule,
        PROCESS,
      );
      t.defer(() => child.proc.kill("SIGKILL"));
      await ready(child).catch((error) => {
        throw new Error(`${error}\n${describeClaimer(child)}`);
      });
      const queue = new t.sitq.TaskQueue(store.backend);
      const hold = t.sitq.declareTask<[], string>("hold", { maxAttempts: 3 });
      queue.declare(hold);
      const id = await queue.enqueue(hold);
      await waitFor(() => child.stdout.includes(`{"started":${id}}`));
      await queue.cancel(id);
      assert.equal((await queue.getResult(id)).status, "cancelled");
      await waitFor(() =>
        child.stdout.includes(`{"aborted":${id},"code":"CANCELLED"}`)
      ).catch((error) => {
        throw new Error(`${error}\n${describeClaimer(child)}`);
      });
      // The handler ignored the signal: it returns only now, too late.
      child.proc.stdin!.write("release\n");
      await waitFor(() => child.stdout.includes(`{"returned":${id}}`));
      child.proc.stdin!.write("stop\n");
      assert.equal(await child.exited, 0, describeClaimer(child));
      assert.deepEqual(await queue.getResult(id), {
        status: "cancelled",
        attempts: 1,
      });
      const record = await queue.getTask(id);
      assert.equal(
        record.history.some((attempt) => attempt.outcome === "completed"),
        false,
      );
    },
    { timeout: 60_000 },
  );
}
