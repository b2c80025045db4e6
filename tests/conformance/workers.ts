/**
 * The registry of running workers (schema v7): the Backend's rows
 * (register, heartbeat, remove, live ones read back), the queue's
 * `workers()` and `unhandledTasks()` over a worker of this process, and
 * across processes: a worker process's names count as handled while its
 * heartbeat is fresh, and no longer once it was killed with SIGKILL and
 * its row went stale.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Backend } from "../../lib/storage/backend.ts";
import { describeClaimer, ready, spawnClaimer } from "./claim_processes.ts";
import type { Suite } from "./harness.ts";
import { T0 } from "./rows.ts";

const WORKER = fileURLToPath(
  new URL("../fixtures/registered_worker.mjs", import.meta.url),
);

/** Polls `check` every 20 ms until it holds; the test's hang guard bounds it. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A row for worker `id` with a heartbeat at `at`. */
function workerRow(id: string, names: string[], at: number) {
  return {
    workerId: id,
    names,
    host: "host-1",
    pid: 4242,
    startedAt: at,
    heartbeatAt: at,
  };
}

/** The ids of the workers `backend` lists as alive at `now`. */
async function liveIds(
  backend: Backend,
  now: number,
  staleAfter: number,
): Promise<string[]> {
  return (await backend.listWorkers(now, staleAfter)).map((w) => w.workerId);
}

/** Registers the registry-of-workers tests. */
export function workerRegistryTests({ test, factory }: Suite): void {
  test("registerWorker, heartbeatWorker, removeWorker and listWorkers keep one row per live worker", async (t) => {
    const backend = t.backend();
    assert.deepEqual(await backend.listWorkers(T0, 1000), []);
    await backend.registerWorker(workerRow("w1", ["a", "b"], T0));
    await backend.registerWorker(workerRow("w2", ["c"], T0 - 5000));
    const [w1] = await backend.listWorkers(T0, 1000);
    assert.deepEqual(
      { ...w1, names: [...w1!.names] },
      workerRow("w1", ["a", "b"], T0),
    );
    // w2's heartbeat is 5 s old: dead at staleAfter 1 s, alive at 10 s.
    assert.deepEqual(await liveIds(backend, T0, 1000), ["w1"]);
    assert.deepEqual(await liveIds(backend, T0, 10_000), ["w1", "w2"]);
    assert.equal(await backend.heartbeatWorker("w2", T0), true);
    assert.deepEqual(await liveIds(backend, T0, 1000), ["w1", "w2"]);
    // Later, only the one that beat again is alive.
    assert.equal(await backend.heartbeatWorker("w1", T0 + 3000), true);
    assert.deepEqual(await liveIds(backend, T0 + 3000, 1000), ["w1"]);
    // Registering an id again replaces its row (a restarted worker).
    await backend.registerWorker(workerRow("w1", ["z"], T0 + 4000));
    const again = await backend.listWorkers(T0 + 4000, 1000);
    assert.deepEqual(
      again.map((w) => [w.workerId, [...w.names], w.startedAt]),
      [
        ["w1", ["z"], T0 + 4000],
      ],
    );
    await backend.removeWorker("w1");
    await backend.removeWorker("w1"); // no row: no error
    assert.equal(await backend.heartbeatWorker("w1", T0 + 5000), false);
    assert.deepEqual(await liveIds(backend, T0 + 5000, 1_000_000), ["w2"]);
  });

  test("a worker's start deletes the rows of workers whose heartbeat stopped more than a day before", async (t) => {
    const backend = t.backend();
    const day = 24 * 60 * 60 * 1000;
    await backend.registerWorker(workerRow("killed-long-ago", ["a"], T0));
    await backend.registerWorker(
      workerRow("killed-recently", ["a"], T0 + 1000),
    );
    await backend.registerWorker(workerRow("new", ["a"], T0 + day + 500));
    // Everything listed, however stale: only the sweep removes rows.
    assert.deepEqual(await liveIds(backend, T0 + day + 500, 10 * day), [
      "killed-recently",
      "new",
    ]);
  });

  test("queue.workers() lists a started worker until it stops; unhandledTasks() counts due and later tasks no live worker handles", async (t) => {
    const queue = new t.sitq.TaskQueue(t.backend());
    const handled = queue.task("handled", () => null);
    const later = t.sitq.declareTask<[number], null>("orphan");
    queue.declare(later);
    await queue.enqueue(later, 1);
    await queue.enqueue(later, 2);
    await queue.enqueue(later.with({ delay: 3_600_000 }), 3);
    await queue.enqueue(handled.with({ delay: 3_600_000 }));
    // No worker yet: every queued name is unhandled.
    assert.deepEqual(
      (await queue.unhandledTasks()).map((c) => ({ ...c })),
      [
        { name: "handled", due: 0, later: 1 },
        { name: "orphan", due: 2, later: 1 },
      ],
    );
    const worker = queue.worker({ workerId: "here-1", pollInterval: 50 });
    t.defer(() => worker.stop());
    await worker.start();
    await waitFor(async () => (await queue.workers()).length === 1);
    const [info] = await queue.workers();
    assert.equal(info!.id, "here-1");
    assert.deepEqual([...info!.names], ["handled"]);
    assert.equal(typeof info!.host, "string");
    assert.ok(info!.startedAt instanceof Date);
    assert.ok(info!.heartbeatAt.getTime() >= info!.startedAt.getTime());
    assert.deepEqual(
      (await queue.unhandledTasks()).map((c) => ({ ...c })),
      [{ name: "orphan", due: 2, later: 1 }],
    );
    await worker.stop();
    assert.deepEqual(await queue.workers(), []);
    assert.deepEqual(
      (await queue.unhandledTasks()).map((c) => c.name),
      ["handled", "orphan"],
    );
  });

  if (!factory.processes) return;

  test("a worker process's names count as handled while it beats, and not once it was killed (SIGKILL) and its row went stale", async (t) => {
    const store = t.store();
    await store.backend.open();
    const heartbeatInterval = 100;
    const child = spawnClaimer(
      {
        store: store.spec,
        names: ["a"],
        workerId: "child-a",
        heartbeatInterval,
      },
      t.sitqModule,
      WORKER,
    );
    t.defer(() => child.proc.kill("SIGKILL"));
    await ready(child).catch((error) => {
      throw new Error(`${error}\n${describeClaimer(child)}`);
    });
    const queue = new t.sitq.TaskQueue(store.backend);
    const a = t.sitq.declareTask<[], null>("a");
    const b = t.sitq.declareTask<[], null>("b");
    queue.declare(a, b);
    // Delayed, so the child does not run its "a" tasks away.
    await queue.enqueueMany(a.with({ delay: 3_600_000 }), [[], []]);
    await queue.enqueueMany(b, [[], [], []]);
    // While it lives: a window of a hundred heartbeats, so a child slowed
    // by a loaded machine still counts as live (with three, a late beat
    // failed this under CI). Once killed: three, so its row goes stale soon.
    const alive = { staleAfter: 100 * heartbeatInterval };
    const options = { staleAfter: 3 * heartbeatInterval };
    await waitFor(async () =>
      (await queue.workers(alive)).some((w) => w.id === "child-a")
    );
    const [seen] = (await queue.workers(alive)).filter((w) =>
      w.id === "child-a"
    );
    assert.deepEqual([...seen!.names], ["a"]);
    assert.equal(seen!.pid, child.proc.pid);
    assert.deepEqual(
      (await queue.unhandledTasks(alive)).map((c) => ({ ...c })),
      [{ name: "b", due: 3, later: 0 }],
    );
    child.proc.kill("SIGKILL");
    await child.exited;
    // Its row stays, and goes stale: then "a" counts as unhandled too.
    await waitFor(async () =>
      (await queue.unhandledTasks(options)).some((c) => c.name === "a")
    );
    assert.deepEqual(
      (await queue.unhandledTasks(options)).map((c) => ({ ...c })),
      [
        { name: "a", due: 0, later: 2 },
        { name: "b", due: 3, later: 0 },
      ],
    );
    assert.equal(
      (await queue.workers(options)).some((w) => w.id === "child-a"),
      false,
    );
  });
}
