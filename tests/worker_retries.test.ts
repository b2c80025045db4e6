/**
 * Retries, backoff, PermanentError and timeouts. Backoff is checked with a
 * ManualClock and processOne(), so "not before its time" needs no sleeping;
 * timeouts use short task timeouts and wait on the states they cause.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  type Backoff,
  PermanentError,
  type TaskContext,
  type TaskQueue,
  TaskTimeoutError,
} from "../mod.ts";
import {
  cleanup,
  completed,
  deferred,
  expectCompleted,
  heldTask,
  ManualClock,
  newQueue,
  waitUntil,
} from "./helpers.ts";
import { countingQueue, track } from "./worker_helpers.ts";

afterAll(cleanup);

/** A task on `queue` that always throws, counting its runs. */
function alwaysFailing(
  queue: TaskQueue,
  options: { maxAttempts?: number; backoff?: Backoff } = {},
) {
  const runs: number[] = [];
  const task = queue.task("fails", function (this: TaskContext) {
    runs.push(this.attempt);
    throw new Error(`attempt ${this.attempt} failed`);
  }, { backoff: { type: "fixed", delay: 0 }, ...options });
  return { task, runs };
}

describe("Retry budget", () => {
  test("maxAttempts 1: the task fails after one run, with its error stored", async () => {
    const queue = newQueue();
    const { task, runs } = alwaysFailing(queue, { maxAttempts: 1 });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true);
    expect(await worker.processOne()).toBe(false);
    expect(runs).toEqual([1]);
    const record = await queue.getTask(id);
    expect(record.result).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { name: "Error", message: "attempt 1 failed" },
    });
    expect(record.finishedAt).toBeInstanceOf(Date);
    expect(record.history.map((h) => [h.attempt, h.outcome])).toEqual([[
      1,
      "failed",
    ]]);
  });

  test("maxAttempts 3: exactly three runs, then failed, with three attempts in the history", async () => {
    const queue = newQueue();
    const { task, runs } = alwaysFailing(queue, { maxAttempts: 3 });
    const id = await queue.enqueue(task);
    const worker = queue.worker({ workerId: "w-retry" });
    expect(await worker.processOne()).toBe(true);
    expect(await queue.getResult(id)).toMatchObject({
      status: "queued",
      attempts: 1,
      lastError: { message: "attempt 1 failed" },
    });
    expect(await worker.processOne()).toBe(true);
    expect(await queue.getResult(id)).toMatchObject({
      status: "queued",
      attempts: 2,
      lastError: { message: "attempt 2 failed" },
    });
    expect(await worker.processOne()).toBe(true);
    expect(await worker.processOne()).toBe(false);
    expect(runs).toEqual([1, 2, 3]);
    const record = await queue.getTask(id);
    expect(record.result).toMatchObject({
      status: "failed",
      attempts: 3,
      error: { message: "attempt 3 failed" },
    });
    expect(
      record.history.map((
        h,
      ) => [h.attempt, h.outcome, h.workerId, h.error?.message]),
    )
      .toEqual([
        [1, "failed", "w-retry", "attempt 1 failed"],
        [2, "failed", "w-retry", "attempt 2 failed"],
        [3, "failed", "w-retry", "attempt 3 failed"],
      ]);
  });

  test("maxAttempts per enqueue overrides the task's: 2 runs instead of 5", async () => {
    const queue = newQueue();
    const { task, runs } = alwaysFailing(queue, { maxAttempts: 5 });
    const id = await queue.enqueue(task.with({ maxAttempts: 2 }));
    const worker = queue.worker();
    while (await worker.processOne());
    expect(runs).toEqual([1, 2]);
    expect(await queue.getResult(id)).toMatchObject({
      status: "failed",
      attempts: 2,
    });
  });

  test("A running worker retries a failing task exactly maxAttempts times; waitForResult resolves once, at the end", async () => {
    const queue = newQueue();
    const { task, runs } = alwaysFailing(queue, { maxAttempts: 3 });
    const id = await queue.enqueue(task);
    const worker = track(queue.worker());
    const retrying: number[] = [];
    const failed: number[] = [];
    worker.on("retrying", ({ attempt }) => retrying.push(attempt));
    worker.on("failed", ({ attempt }) => failed.push(attempt));
    let resolutions = 0;
    const waiting = queue.waitForResult(id, { timeout: 10_000 }).then(
      (result) => {
        resolutions++;
        return result;
      },
    );
    await worker.start();
    const result = await waiting;
    // Resolved with the final failure, not with an intermediate one.
    expect(result).toMatchObject({
      status: "failed",
      attempts: 3,
      error: { message: "attempt 3 failed" },
    });
    expect(resolutions).toBe(1);
    await worker.onIdle();
    await worker.stop();
    expect(runs).toEqual([1, 2, 3]);
    expect(retrying).toEqual([1, 2]);
    expect(failed).toEqual([3]);
  });

  test("Fail once then succeed: completed with attempts 2 and a history of failed, completed", async () => {
    const queue = newQueue();
    const task = queue.task("flaky", function (this: TaskContext, n: number) {
      if (this.attempt === 1) throw new Error("transient");
      return n * 2;
    }, { maxAttempts: 3, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(task, 5);
    const worker = track(queue.worker());
    await worker.start();
    await expectCompleted(queue, id, 10, { attempts: 2 });
    await worker.stop();
    const record = await queue.getTask(id);
    expect(record.history.map((h) => [h.attempt, h.outcome, h.error?.message]))
      .toEqual([
        [1, "failed", "transient"],
        [2, "completed", undefined],
      ]);
  });

  test("A handler's context reports its attempt number and maxAttempts", async () => {
    const queue = newQueue();
    const seen: Array<[number, number]> = [];
    const task = queue.task("ctx", function (this: TaskContext) {
      seen.push([this.attempt, this.maxAttempts]);
      if (this.attempt < 3) throw new Error("again");
    }, { maxAttempts: 4, backoff: { type: "fixed", delay: 0 } });
    await queue.enqueue(task);
    const worker = queue.worker();
    while (await worker.processOne());
    expect(seen).toEqual([[1, 4], [2, 4], [3, 4]]);
  });
});

describe("Backoff", () => {
  /**
   * A queue on a ManualClock with one run of an always-failing task
   * enqueued, and a worker that is not started: run it with processOne().
   */
  async function failingOnClock(
    options: { maxAttempts: number; backoff: Backoff },
  ) {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const { task, runs } = alwaysFailing(queue, options);
    const id = await queue.enqueue(task);
    return { clock, queue, runs, id, worker: queue.worker() };
  }

  test("A fixed backoff of 60 s: queued at failure time + 60 s, not claimable a millisecond early", async () => {
    const { clock, queue, runs, id, worker } = await failingOnClock({
      maxAttempts: 3,
      backoff: { type: "fixed", delay: 60_000 },
    });
    const failedAt = clock.now();
    expect(await worker.processOne()).toBe(true);
    const record = await queue.getTask(id);
    expect(record.status).toBe("queued");
    expect(record.runAt.getTime()).toBe(failedAt + 60_000);
    expect(record.result).toMatchObject({
      status: "queued",
      attempts: 1,
      runAt: new Date(failedAt + 60_000),
      lastError: { message: "attempt 1 failed" },
    });
    expect(await worker.processOne()).toBe(false);
    clock.advance(59_999);
    expect(await worker.processOne()).toBe(false);
    expect(runs).toEqual([1]);
    clock.advance(1);
    expect(await worker.processOne()).toBe(true);
    expect(runs).toEqual([1, 2]);
    expect((await queue.getTask(id)).runAt.getTime()).toBe(failedAt + 120_000);
  });

  test("An exponential backoff without jitter doubles from its delay and stops at maxDelay", async () => {
    const { clock, queue, id, worker } = await failingOnClock({
      maxAttempts: 6,
      backoff: {
        type: "exponential",
        delay: 1000,
        maxDelay: 5000,
        jitter: false,
      },
    });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      const failedAt = clock.now();
      expect(await worker.processOne()).toBe(true);
      const runAt = (await queue.getTask(id)).runAt.getTime();
      delays.push(runAt - failedAt);
      clock.advance(runAt - failedAt - 1);
      expect(await worker.processOne()).toBe(false);
      clock.advance(1);
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(await worker.processOne()).toBe(true);
    expect(await queue.getResult(id)).toMatchObject({
      status: "failed",
      attempts: 6,
    });
  });

  test("An exponential backoff with jitter waits between half and all of the exponential delay", async () => {
    const { clock, queue, id, worker } = await failingOnClock({
      maxAttempts: 4,
      backoff: { type: "exponential", delay: 8000 },
    });
    for (const full of [8000, 16_000, 32_000]) {
      const failedAt = clock.now();
      expect(await worker.processOne()).toBe(true);
      const delay = (await queue.getTask(id)).runAt.getTime() - failedAt;
      expect(delay).toBeGreaterThanOrEqual(full / 2);
      expect(delay).toBeLessThanOrEqual(full);
      expect(await worker.processOne()).toBe(false);
      clock.advance(delay);
    }
  });

  test("A function backoff gets the failed attempt's number and error, and its delay is used exactly", async () => {
    const calls: Array<[number, string]> = [];
    const { clock, queue, id, worker } = await failingOnClock({
      maxAttempts: 3,
      backoff: (attempt, error) => {
        calls.push([attempt, error.message]);
        return attempt * 7_000 + 1;
      },
    });
    const first = clock.now();
    await worker.processOne();
    expect((await queue.getTask(id)).runAt.getTime()).toBe(first + 7_001);
    clock.advance(7_001);
    const second = clock.now();
    await worker.processOne();
    expect((await queue.getTask(id)).runAt.getTime()).toBe(second + 14_001);
    clock.advance(14_001);
    await worker.processOne();
    expect(calls).toEqual([[1, "attempt 1 failed"], [2, "attempt 2 failed"]]);
    expect(await queue.getResult(id)).toMatchObject({
      status: "failed",
      attempts: 3,
    });
  });

  test("A backoff function that returns nonsense retries at once rather than losing the task", async () => {
    const { queue, runs, id, worker } = await failingOnClock({
      maxAttempts: 2,
      backoff: () => Number.NaN,
    });
    expect(await worker.processOne()).toBe(true);
    expect((await queue.getResult(id)).status).toBe("queued");
    expect(await worker.processOne()).toBe(true);
    expect(runs).toEqual([1, 2]);
  });

  test("A running worker does not run a retry before its backoff has passed, however often it polls", async () => {
    const { queue, backend } = countingQueue();
    const { task, runs } = alwaysFailing(queue, {
      maxAttempts: 2,
      backoff: { type: "fixed", delay: 3_600_000 },
    });
    const id = await queue.enqueue(task);
    const worker = track(queue.worker({ pollInterval: 10 }));
    const retrying = deferred();
    worker.on("retrying", () => retrying.resolve());
    await worker.start();
    await retrying.promise;
    const claims = backend.claims;
    await waitUntil(() => backend.claims >= claims + 3, "three more claims");
    await worker.stop();
    expect(runs).toEqual([1]);
    expect(await queue.getResult(id)).toMatchObject({
      status: "queued",
      attempts: 1,
    });
  });
});

describe("PermanentError", () => {
  test("A PermanentError stops retries at once, whatever maxAttempts allows", async () => {
    const queue = newQueue();
    let runs = 0;
    const task = queue.task("permanent", () => {
      runs++;
      throw new PermanentError("bad input, do not retry");
    }, { maxAttempts: 5, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(task);
    const worker = track(queue.worker());
    const failed = deferred<number>();
    worker.on("failed", ({ attempt }) => failed.resolve(attempt));
    const retrying: number[] = [];
    worker.on("retrying", ({ attempt }) => retrying.push(attempt));
    await worker.start();
    expect(await queue.waitForResult(id, { timeout: 10_000 })).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { name: "PermanentError", message: "bad input, do not retry" },
    });
    expect(await failed.promise).toBe(1);
    await worker.onIdle();
    await worker.stop();
    expect(runs).toBe(1);
    expect(retrying).toEqual([]);
  });

  test("A PermanentError on a later attempt also ends the task there", async () => {
    const queue = newQueue();
    const task = queue.task("late-permanent", function (this: TaskContext) {
      if (this.attempt === 1) throw new Error("transient");
      throw new PermanentError("now it is final");
    }, { maxAttempts: 5, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    while (await worker.processOne());
    const record = await queue.getTask(id);
    expect(record.result).toMatchObject({ status: "failed", attempts: 2 });
    expect(record.history.map((h) => h.error?.name)).toEqual([
      "Error",
      "PermanentError",
    ]);
  });
});

describe("Timeouts", () => {
  test("At its timeout the handler's signal fires with TaskTimeoutError and the attempt is recorded as timed_out", async () => {
    const queue = newQueue();
    let reason: unknown;
    const task = queue.task("slow", async function (this: TaskContext) {
      await new Promise<void>((resolve) =>
        this.signal.addEventListener("abort", () => resolve())
      );
      reason = this.signal.reason;
      throw this.signal.reason;
    }, { timeout: 50, maxAttempts: 1 });
    const id = await queue.enqueue(task);
    const worker = track(queue.worker());
    const failed = deferred<{ name: string }>();
    worker.on("failed", ({ error }) => failed.resolve(error));
    await worker.start();
    const result = await queue.waitForResult(id, { timeout: 10_000 });
    expect(reason).toBeInstanceOf(TaskTimeoutError);
    expect(result).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { name: "TaskTimeoutError" },
    });
    expect((await failed.promise).name).toBe("TaskTimeoutError");
    await worker.stop();
    const record = await queue.getTask(id);
    expect(record.timeout).toBe(50);
    expect(record.history.map((h) => [h.attempt, h.outcome, h.error?.name]))
      .toEqual([
        [1, "timed_out", "TaskTimeoutError"],
      ]);
  });

  test("A timeout set per enqueue with task.with({ timeout }) applies to that run", async () => {
    const queue = newQueue();
    const release = deferred();
    const task = queue.task(
      "maybe-slow",
      async function (this: TaskContext, wait: boolean) {
        if (wait) await release.promise;
        return "done";
      },
      { maxAttempts: 1 },
    );
    const limited = await queue.enqueue(task.with({ timeout: 30 }), true);
    const worker = track(queue.worker({ concurrency: 2 }));
    await worker.start();
    try {
      expect(await queue.waitForResult(limited, { timeout: 10_000 }))
        .toMatchObject({
          status: "failed",
          error: { name: "TaskTimeoutError" },
        });
    } finally {
      release.resolve();
    }
    const unlimited = await queue.enqueue(task, false);
    expect(await queue.waitForResult(unlimited, { timeout: 10_000 }))
      .toMatchObject({
        status: "completed",
        value: "done",
      });
    await worker.stop();
  });

  test("A late completion after a timeout is ignored: the task stays failed", async () => {
    const queue = newQueue();
    // Deaf to its signal: it returns only once released.
    const held = heldTask(queue, "ignores-signal", "too late", {
      timeout: 50,
      maxAttempts: 1,
    });
    const id = await queue.enqueue(held.task);
    const worker = track(queue.worker());
    const completed: unknown[] = [];
    worker.on("completed", (payload) => completed.push(payload));
    await worker.start();
    try {
      await waitUntil(
        async () => (await queue.getResult(id)).status === "failed",
        "the attempt to time out",
      );
    } finally {
      held.release();
    }
    await held.returned;
    // stop() writes whatever the worker still had to write.
    await worker.stop();
    expect(await queue.getResult(id)).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { name: "TaskTimeoutError" },
    });
    expect(completed).toEqual([]);
    expect(worker.stats()).toMatchObject({ completed: 0, failed: 1 });
    expect((await queue.getTask(id)).history.map((h) => h.outcome)).toEqual([
      "timed_out",
    ]);
  });

  test("A timed-out attempt is retried, and the retry's outcome wins over the first attempt's late completion", async () => {
    const queue = newQueue();
    const releaseFirst = deferred();
    const firstReturned = deferred();
    const task = queue.task(
      "retried-after-timeout",
      async function (this: TaskContext) {
        if (this.attempt === 1) {
          await releaseFirst.promise; // deaf to its signal
          firstReturned.resolve();
          return "first (late)";
        }
        return "second";
      },
      { timeout: 50, maxAttempts: 2, backoff: { type: "fixed", delay: 0 } },
    );
    const id = await queue.enqueue(task);
    const worker = track(queue.worker());
    await worker.start();
    try {
      await expectCompleted(queue, id, "second", { attempts: 2 });
    } finally {
      releaseFirst.resolve();
    }
    await firstReturned.promise;
    await worker.stop();
    expect(await queue.getResult(id)).toEqual(completed("second", 2));
    expect((await queue.getTask(id)).history.map((h) => [h.attempt, h.outcome]))
      .toEqual([
        [1, "timed_out"],
        [2, "completed"],
      ]);
    expect(worker.stats()).toMatchObject({
      completed: 1,
      retried: 1,
      failed: 0,
    });
  });

  test("A task that finishes within its timeout completes normally and its signal never fires", async () => {
    const queue = newQueue();
    let aborted = false;
    const task = queue.task("quick", function (this: TaskContext) {
      this.signal.addEventListener("abort", () => aborted = true);
      return "quick";
    }, { timeout: 60_000 });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true);
    expect(await queue.getResult(id)).toMatchObject({
      status: "completed",
      value: "quick",
    });
    expect(aborted).toBe(false);
  });
});
