/**
 * Concurrency inside one process: racing claimers on one file, the
 * concurrency limit, no hoarding of claims beyond free capacity, and exact
 * counts when failures and successes mix. Handlers hold latches so states
 * can be observed; nothing waits for an amount of time.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type TaskContext, type TaskId, Worker } from "../mod.ts";
import {
  cleanup,
  completed,
  deferred,
  newQueue,
  numberedArgs,
  tempDbPath,
  waitUntil,
} from "./helpers.ts";
import { countingQueue, statusCounts, track } from "./worker_helpers.ts";

afterAll(cleanup);

describe("Racing claimers in one process", () => {
  test("One task and five workers on five backends of one file: it runs exactly once", async () => {
    const path = tempDbPath();
    const producer = newQueue({}, path);
    // Only the five workers below run it; they return their worker id.
    const job = producer.task("job", (): string => "never run here");
    const id = await producer.enqueue(job);

    const runs: string[] = [];
    const running = deferred<string>();
    const release = deferred();
    const workers: Worker[] = [];
    for (let i = 0; i < 5; i++) {
      const queue = newQueue({}, path);
      queue.task("job", async function (this: TaskContext) {
        runs.push(this.workerId);
        running.resolve(this.workerId);
        await release.promise;
        return this.workerId;
      });
      workers.push(
        track(queue.worker({ workerId: `w${i}`, pollInterval: 20 })),
      );
    }
    try {
      await Promise.all(workers.map((worker) => worker.start()));
      const winner = await running.promise;
      // Every other worker has tried to claim and found nothing due, and
      // keeps polling while the winner holds the task.
      const losers = workers.filter((worker) => worker.id !== winner);
      await Promise.all(losers.map((worker) => worker.onIdle()));
      expect(statusCounts(path)).toEqual({ running: 1 });
    } finally {
      release.resolve();
    }
    const result = await producer.waitForResult(id, { timeout: 10_000 });
    await Promise.all(workers.map((worker) => worker.stop()));
    expect(runs).toHaveLength(1);
    expect(result).toEqual(completed(runs[0]!));
    expect((await producer.getTask(id)).history).toHaveLength(1);
  });

  test("Forty tasks over four workers on four backends of one file: each runs exactly once", async () => {
    const path = tempDbPath();
    const producer = newQueue({}, path);
    const job = producer.task("job", (_n: number) => {});
    const ids = await producer.enqueueMany(job, numberedArgs(40));
    const runs: number[] = [];
    const workers: Worker[] = [];
    for (let i = 0; i < 4; i++) {
      const queue = newQueue({}, path);
      queue.task("job", (n: number) => {
        runs.push(n);
      });
      workers.push(track(queue.worker({ concurrency: 3, pollInterval: 20 })));
    }
    await Promise.all(workers.map((worker) => worker.start()));
    for (const id of ids) await producer.waitForResult(id, { timeout: 10_000 });
    await Promise.all(workers.map((worker) => worker.stop()));
    expect(runs).toHaveLength(40);
    expect(new Set(runs).size).toBe(40);
    expect(statusCounts(path)).toEqual({ completed: 40 });
  });
});

describe("Concurrency limit", () => {
  test("A worker with concurrency 4 runs exactly 4 of 8 latched tasks at once, and never more", async () => {
    const { queue, backend } = countingQueue();
    let running = 0;
    let maxRunning = 0;
    const release = deferred();
    const job = queue.task("job", async (_n: number) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await release.promise;
      running--;
    });
    await queue.enqueueMany(job, numberedArgs(8));
    const worker = track(queue.worker({ concurrency: 4, pollInterval: 20 }));
    try {
      await worker.start();
      await waitUntil(() => running === 4, "four handlers to run");
      // Let the loop go round several more polls with every slot taken, and
      // wake it with a fresh task too: it must not claim anything.
      const polls = backend.recoveries;
      await queue.enqueue(job, 99);
      await waitUntil(
        () => backend.recoveries >= polls + 3,
        "three more polls",
      );
      expect(maxRunning).toBe(4);
      expect(running).toBe(4);
      expect(worker.stats().active).toBe(4);
      expect(await queue.stats()).toMatchObject({ running: 4, queued: 5 });
    } finally {
      release.resolve();
    }
    await waitUntil(
      async () => (await queue.stats()).completed === 9,
      "all nine tasks to complete",
    );
    await worker.stop();
    expect(maxRunning).toBe(4);
  });

  test("A worker with concurrency 2 holds exactly 2 claims, so a second worker can take the rest", async () => {
    const path = tempDbPath();
    const queueA = newQueue({}, path);
    const started: number[] = [];
    const release = deferred();
    const job = queueA.task("job", async (n: number) => {
      started.push(n);
      await release.promise;
      return "A";
    });
    const ids = await queueA.enqueueMany(job, numberedArgs(6));
    const a = track(
      queueA.worker({ workerId: "w-a", concurrency: 2, pollInterval: 20 }),
    );
    try {
      await a.start();
      await waitUntil(
        () => started.length === 2,
        "worker A to start two tasks",
      );
      // Only the two running tasks are held; the rest is queued for anyone.
      const tasks = await Promise.all(ids.map((id) => queueA.getTask(id)));
      expect(tasks.map((t) => [t.status, t.workerId])).toEqual([
        ["running", "w-a"],
        ["running", "w-a"],
        ["queued", undefined],
        ["queued", undefined],
        ["queued", undefined],
        ["queued", undefined],
      ]);

      const queueB = newQueue({}, path);
      queueB.task("job", () => "B");
      const b = track(
        queueB.worker({ workerId: "w-b", concurrency: 2, pollInterval: 20 }),
      );
      await b.start();
      for (const id of ids.slice(2)) {
        expect(await queueB.waitForResult(id, { timeout: 10_000 }))
          .toMatchObject({
            status: "completed",
            value: "B",
          });
      }
      await b.stop();
      expect(statusCounts(path)).toEqual({ running: 2, completed: 4 });
    } finally {
      release.resolve();
    }
    for (const id of ids.slice(0, 2)) {
      expect(await queueA.waitForResult(id, { timeout: 10_000 })).toMatchObject(
        { value: "A" },
      );
    }
    await a.stop();
    expect(started).toEqual([0, 1]);
  });

  test("A worker with concurrency 3 keeps its slots full: a finishing task frees exactly one slot", async () => {
    const queue = newQueue();
    const latches = new Map<number, ReturnType<typeof deferred<void>>>();
    let running = 0;
    let maxRunning = 0;
    const job = queue.task("job", async (n: number) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const latch = deferred();
      latches.set(n, latch);
      await latch.promise;
      running--;
    });
    await queue.enqueueMany(job, numberedArgs(6));
    const worker = track(queue.worker({ concurrency: 3, pollInterval: 20 }));
    await worker.start();
    try {
      await waitUntil(() => latches.size === 3, "three tasks to start");
      expect([...latches.keys()]).toEqual([0, 1, 2]);
      latches.get(1)!.resolve();
      await waitUntil(() => latches.size === 4, "the freed slot to be taken");
      expect([...latches.keys()]).toEqual([0, 1, 2, 3]);
      expect(running).toBe(3);
      expect(await queue.stats()).toMatchObject({
        running: 3,
        completed: 1,
        queued: 2,
      });
    } finally {
      for (let n = 0; n < 6; n++) {
        await waitUntil(() => latches.has(n), `task ${n} to start`);
        latches.get(n)!.resolve();
      }
    }
    await worker.onIdle();
    await worker.stop();
    expect(maxRunning).toBe(3);
    expect(await queue.stats()).toMatchObject({ completed: 6 });
  });
});

describe("Failures mixed with successes", () => {
  test("Under concurrency, stats(), events and the database agree on completed, failed and retried", async () => {
    const queue = newQueue();
    // 30 tasks: n % 3 === 0 succeed, 1 fail for good, 2 fail once then succeed.
    const job = queue.task("job", function (this: TaskContext, n: number) {
      if (n % 3 === 1) throw new Error(`fail ${n}`);
      if (n % 3 === 2 && this.attempt === 1) throw new Error(`flaky ${n}`);
      return n;
    }, { maxAttempts: 1, backoff: { type: "fixed", delay: 0 } });
    const ids: TaskId[] = [];
    for (let n = 0; n < 30; n++) {
      const maxAttempts = n % 3 === 2 ? 2 : 1;
      const task = job.with({ maxAttempts });
      ids.push(await queue.enqueue(task, n));
    }
    const worker = track(
      new Worker(queue.backend, {
        tasks: [job],
        concurrency: 4,
        pollInterval: 20,
      }),
    );
    const completed: number[] = [];
    const failed: string[] = [];
    const retrying: string[] = [];
    worker.on("completed", ({ value }) => completed.push(value as number));
    worker.on("failed", ({ error }) => failed.push(error.message));
    worker.on("retrying", ({ error }) => retrying.push(error.message));
    await worker.start();
    const results = await Promise.all(
      ids.map((id) => queue.waitForResult(id, { timeout: 20_000 })),
    );
    await worker.onIdle();
    await worker.stop();

    expect(results.filter((r) => r.status === "completed")).toHaveLength(20);
    expect(results.filter((r) => r.status === "failed")).toHaveLength(10);
    expect(completed.sort((x, y) => x - y)).toEqual(
      Array.from({ length: 30 }, (_, n) => n).filter((n) => n % 3 !== 1),
    );
    expect(failed.sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `fail ${3 * i + 1}`).sort(),
    );
    expect(retrying.sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `flaky ${3 * i + 2}`).sort(),
    );
    expect(worker.stats()).toMatchObject({
      completed: 20,
      failed: 10,
      retried: 10,
      active: 0,
    });
    expect(await queue.stats()).toEqual({
      waiting: 0,
      queued: 0,
      running: 0,
      completed: 20,
      failed: 10,
      cancelled: 0,
    });
  });
});
