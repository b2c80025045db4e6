/**
 * Graceful shutdown: stop() drains in-flight handlers, aborts and requeues
 * those past its deadline at once (attempt not counted), stops at once when
 * idle, and worker.run() does all this on SIGINT/SIGTERM in a real process.
 * Latches and flags, never sleeps.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  InterruptedError,
  type TaskContext,
  type TaskId,
  type Worker,
  type WorkerOptions,
} from "../mod.ts";
import {
  cleanup,
  completed,
  deferred,
  type HeldTask,
  heldTask,
  HOUR,
  newQueue,
  numberedArgs,
  tempDbPath,
  waitUntil,
} from "./helpers.ts";
import {
  logLines,
  type ProcessFiles,
  processFiles,
  spawnReadyWorkers,
  statusCounts,
  track,
  waitForOutput,
  type WorkerProcessConfig,
} from "./worker_helpers.ts";

afterAll(cleanup);

/**
 * Starts a worker process with `config` on `files`, enqueues task "job"
 * with `arg` once it is ready, and waits until the handler has started it.
 */
async function startTaskInProcess(
  files: ProcessFiles,
  config: Omit<WorkerProcessConfig, "db" | "log">,
  arg: number,
) {
  const [child] = await spawnReadyWorkers([
    { db: files.db, log: files.log, ...config },
  ]);
  const queue = newQueue({}, files.db);
  const job = queue.task("job", (n: number) => n);
  const id = await queue.enqueue(job, arg);
  await waitUntil(() => logLines(files.log).length === 1, "the task to start");
  return { child: child!, queue, id };
}

describe("Worker.stop() with running tasks", () => {
  test("stop() does not resolve while a handler runs, and resolves once it finishes", async () => {
    const queue = newQueue();
    const held = heldTask(queue, "job", "finished");
    const id = await queue.enqueue(held.task);
    const worker = track(queue.worker({ pollInterval: 20 }));
    await worker.start();
    await held.started;

    let stopped = false;
    const stopping = worker.stop({ timeout: 60_000 }).then(() =>
      stopped = true
    );
    // The loop goes round while stop() waits; stop() must still be waiting.
    await waitUntil(
      async () => (await queue.getResult(id)).status === "running",
      "task running",
    );
    await Promise.resolve();
    expect(stopped).toBe(false);
    expect(worker.running).toBe(true);
    held.release();
    await stopping;
    expect(stopped).toBe(true);
    expect(held.wasAborted()).toBe(false);
    expect(await queue.getResult(id)).toEqual(completed("finished"));
    expect(worker.stats()).toMatchObject({ completed: 1, running: false });
  });

  test("stop() waits for every running handler, and claims nothing more meanwhile", async () => {
    const path = tempDbPath();
    const queue = newQueue({}, path);
    const latches = new Map<number, ReturnType<typeof deferred<void>>>();
    const job = queue.task("job", async (n: number) => {
      const latch = deferred();
      latches.set(n, latch);
      await latch.promise;
    });
    const ids = await queue.enqueueMany(job, numberedArgs(5));
    const worker = track(queue.worker({ concurrency: 2, pollInterval: 20 }));
    await worker.start();
    await waitUntil(() => latches.size === 2, "two tasks to start");
    let stopped = false;
    const stopping = worker.stop({ timeout: 60_000 }).then(() =>
      stopped = true
    );
    latches.get(0)!.resolve();
    await queue.waitForResult(ids[0]!, { timeout: 10_000 });
    // A slot is free, but a stopping worker claims nothing.
    expect(stopped).toBe(false);
    expect(latches.size).toBe(2);
    latches.get(1)!.resolve();
    await stopping;
    expect(statusCounts(path)).toEqual({ completed: 2, queued: 3 });
    for (const id of ids.slice(2)) {
      expect(await queue.getResult(id)).toMatchObject({
        status: "queued",
        attempts: 0,
      });
    }
  });

  test("stop({ timeout }) mid-batch: finished tasks complete, the rest are queued again at once with their attempt not counted, and their signals abort with InterruptedError", async () => {
    const path = tempDbPath();
    const queue = newQueue({}, path);
    const reasons = new Map<number, unknown>();
    let started = 0;
    // "quick" returns at once; "obedient" rejects when its signal fires;
    // "deaf" ignores its signal and would return much later.
    const deafRelease = deferred();
    let rerun = false;
    const job = queue.task(
      "job",
      async function (this: TaskContext, kind: string, n: number) {
        this.signal.addEventListener(
          "abort",
          () => reasons.set(n, this.signal.reason),
        );
        if (kind === "quick" || rerun) {
          return n;
        }
        started++;
        if (kind === "obedient") {
          await new Promise((_, reject) =>
            this.signal.addEventListener(
              "abort",
              () => reject(this.signal.reason),
            )
          );
        }
        await deafRelease.promise;
        return n;
      },
      { maxAttempts: 1 },
    );
    const quick = [
      await queue.enqueue(job, "quick", 0),
      await queue.enqueue(job, "quick", 1),
    ];
    const slow = [
      await queue.enqueue(job, "obedient", 2),
      await queue.enqueue(job, "deaf", 3),
      await queue.enqueue(job, "obedient", 4),
      await queue.enqueue(job, "deaf", 5),
    ];
    // Never reached while stopping: concurrency 4 is full with the slow ones.
    const unclaimed = await queue.enqueue(job, "quick", 6);
    const all: TaskId[] = [...quick, ...slow, unclaimed];
    const worker = track(queue.worker({ concurrency: 4, pollInterval: 20 }));
    const completedEvents: number[] = [];
    worker.on(
      "completed",
      ({ value }) => completedEvents.push(value as number),
    );
    const otherEvents: string[] = [];
    worker.on("failed", ({ id }) => otherEvents.push(`failed ${id}`));
    worker.on("retrying", ({ id }) => otherEvents.push(`retrying ${id}`));
    try {
      await worker.start();
      await waitUntil(() => started === 4, "four slow handlers to run");
      expect(statusCounts(path)).toEqual({
        completed: 2,
        running: 4,
        queued: 1,
      });

      await worker.stop({ timeout: 200 });
      // Right after stop() resolves, with no lease expiry awaited:
      const counts = statusCounts(path);
      expect(counts).toEqual({ completed: 2, queued: 5 });
      for (const id of slow) {
        const record = await queue.getTask(id);
        expect(record.result).toMatchObject({ status: "queued", attempts: 0 });
        expect(record.leaseExpiresAt).toBeUndefined();
        expect(record.history.map((h) => [h.attempt, h.outcome, h.error?.name]))
          .toEqual([
            [1, "interrupted", "InterruptedError"],
          ]);
      }
      for (const n of [2, 3, 4, 5]) {
        expect(reasons.get(n)).toBeInstanceOf(InterruptedError);
      }
      expect(reasons.has(0)).toBe(false);
      expect(reasons.has(1)).toBe(false);
      expect(await queue.getResult(unclaimed)).toMatchObject({
        status: "queued",
        attempts: 0,
      });
    } finally {
      deafRelease.resolve();
    }
    expect(completedEvents.sort()).toEqual([0, 1]);
    expect(otherEvents).toEqual([]);
    expect(worker.stats()).toMatchObject({
      completed: 2,
      failed: 0,
      retried: 0,
    });

    // The requeued tasks run in full later, with maxAttempts 1 intact.
    rerun = true;
    const again = track(queue.worker({ concurrency: 4 }));
    await again.start();
    for (const id of all) {
      expect((await queue.waitForResult(id, { timeout: 10_000 })).status).toBe(
        "completed",
      );
    }
    await again.stop();
    for (const id of slow) {
      expect(await queue.getResult(id)).toMatchObject({
        status: "completed",
        attempts: 1,
      });
    }
  });

  /**
   * Starts a worker with `options` on a task whose handler never returns,
   * stops it with `stop` once the handler runs, and expects the task queued
   * again with its attempt not counted. Returns the handler.
   */
  async function stopMidTask(
    options: Partial<WorkerOptions>,
    stop: (worker: Worker) => Promise<void>,
  ): Promise<HeldTask<undefined>> {
    const queue = newQueue();
    const held = heldTask(queue, "job", undefined); // never released
    const id = await queue.enqueue(held.task);
    const worker = track(queue.worker(options));
    await worker.start();
    await held.started;
    await stop(worker);
    expect(await queue.getResult(id)).toMatchObject({
      status: "queued",
      attempts: 0,
    });
    return held;
  }

  test("stop({ timeout: 0 }) aborts running handlers at once", async () => {
    const held = await stopMidTask({}, (worker) => worker.stop({ timeout: 0 }));
    expect(await held.abortReason).toBeInstanceOf(InterruptedError);
  });

  test("A worker's shutdownTimeout option is stop()'s default deadline", async () => {
    // stop() would hang (and time the test out) on the 30 s default.
    await stopMidTask({ shutdownTimeout: 50 }, (worker) => worker.stop());
  });

  test("`await using` a worker stops it at the end of the scope", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n);
    const id = await queue.enqueue(job, 3);
    let outside: { running: boolean } | undefined;
    {
      await using worker = queue.worker();
      outside = worker;
      await worker.start();
      await queue.waitForResult(id, { timeout: 10_000 });
      expect(worker.running).toBe(true);
    }
    expect(outside.running).toBe(false);
  });
});

describe("Worker.stop() when idle", () => {
  test("stop() right after start() with a one-hour pollInterval resolves", async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = track(queue.worker({ pollInterval: HOUR }));
    await worker.start();
    await worker.stop();
    await worker.done;
    expect(worker.running).toBe(false);
  });

  test("stop() of an idle worker that has polled resolves, with a one-hour pollInterval", async () => {
    const queue = newQueue();
    const job = queue.task("job", () => {});
    const worker = track(queue.worker({ pollInterval: HOUR }));
    await worker.start();
    await queue.waitForResult(await queue.enqueue(job), { timeout: 10_000 });
    await worker.onIdle();
    await worker.stop();
    expect(worker.running).toBe(false);
  });
});

describe("Worker.run() in a process", () => {
  test(
    "An idle worker.run() process stops on SIGINT and exits 0 by itself",
    async () => {
      const { db, log } = processFiles();
      const [child] = await spawnReadyWorkers([
        { db, log, behaviour: "return", pollInterval: HOUR },
      ]);
      child!.proc.kill("SIGINT");
      expect(await child!.exited).toBe(0);
      expect(child!.stdout).toContain("log: shutdown signal received");
      expect(child!.stdout).toContain("stopped");
    },
    30_000,
  );

  test(
    "On SIGTERM, worker.run() lets a running task finish before the process exits",
    async () => {
      const files = processFiles();
      const releaseFile = join(files.dir, "release");
      const { child, queue, id } = await startTaskInProcess(files, {
        behaviour: "until-release",
        releaseFile,
        stopTimeout: 60_000,
      }, 7);
      child.proc.kill("SIGTERM");
      await waitForOutput(child, "shutdown signal received");
      // Still draining: the process is alive and the task still running.
      expect(child.proc.exitCode).toBeNull();
      expect(child.stdout).not.toContain("stopped");
      expect((await queue.getResult(id)).status).toBe("running");
      writeFileSync(releaseFile, "");
      expect(await child.exited).toBe(0);
      expect(child.stdout).toContain("stopped");
      expect(child.stdout).not.toContain("aborted");
      expect(await queue.getResult(id)).toEqual(completed(7));
    },
    30_000,
  );

  test(
    "On SIGTERM, a task still running at the deadline is aborted and queued again before the process exits",
    async () => {
      const { child, queue, id } = await startTaskInProcess(processFiles(), {
        behaviour: "until-abort",
        stopTimeout: 100,
      }, 1);
      child.proc.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(child.stdout).toContain("aborted InterruptedError");
      expect(child.stdout).toContain("stopped");
      expect(await queue.getResult(id)).toMatchObject({
        status: "queued",
        attempts: 0,
      });
      expect((await queue.getTask(id)).history.map((h) => h.outcome)).toEqual([
        "interrupted",
      ]);
    },
    30_000,
  );
});
