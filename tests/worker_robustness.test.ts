/**
 * What must not strand or double-run a task when something around the
 * handler misbehaves: a worker that re-claims its own lapsed lease, a
 * backoff function or logger that throws, a stop() that races start(),
 * durations no timer can honour.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  LeaseLostError,
  type Logger,
  type TaskContext,
  TaskTimeoutError,
} from "../mod.ts";
import {
  cleanup,
  deferred,
  expectCompleted,
  HOUR,
  ManualClock,
  newQueue,
  thrownBy,
} from "./helpers.ts";
import { track } from "./worker_helpers.ts";

afterAll(cleanup);

describe("A worker that claims its own task again", () => {
  test("after its own lease lapsed, drops the older attempt (signal aborted with LeaseLostError) and completes the task once on the new one", async () => {
    // The clock jumps past the lease while attempt 1 still runs, as when a
    // worker's event loop is blocked for longer than its lease.
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const firstRunning = deferred();
    const firstAborted = deferred<unknown>();
    const job = queue.task("job", function (this: TaskContext) {
      if (this.attempt > 1) return `attempt ${this.attempt}`;
      this.signal.addEventListener(
        "abort",
        () => firstAborted.resolve(this.signal.reason),
      );
      firstRunning.resolve();
      return new Promise<string>(() => {}); // never settles by itself
    }, { maxAttempts: 3 });
    const id = await queue.enqueue(job);
    const worker = track(queue.worker({
      concurrency: 2, // a free slot, so it claims again while attempt 1 runs
      pollInterval: 20,
      leaseDuration: 2 * HOUR,
      heartbeatInterval: HOUR,
    }));
    await worker.start();
    await firstRunning.promise;
    clock.advance(3 * HOUR);

    expect(await firstAborted.promise).toBeInstanceOf(LeaseLostError);
    await expectCompleted(queue, id, "attempt 2", { attempts: 2 });
    const record = await queue.getTask(id);
    expect(record.history.map((attempt) => attempt.outcome)).toEqual([
      "lost",
      "completed",
    ]);
    await worker.onIdle();
    expect(worker.stats().active).toBe(0);
  });
});

describe("A backoff function that throws", () => {
  test("does not leave the task running: the default backoff schedules the retry", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const job = queue.task("job", () => {
      throw new Error("handler failed");
    }, {
      maxAttempts: 3,
      backoff: () => {
        throw new Error("backoff is broken");
      },
    });
    const id = await queue.enqueue(job);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true);

    const record = await queue.getTask(id);
    expect(record.status).toBe("queued");
    expect(record.attempts).toBe(1);
    expect(record.runAt.getTime()).toBeGreaterThan(clock.now());
    expect(record.history.map((attempt) => attempt.outcome)).toEqual([
      "failed",
    ]);
  });

  test("at a timeout, does not crash the process: the timed-out attempt is recorded and retried", async () => {
    const queue = newQueue();
    const job = queue.task("job", function (this: TaskContext) {
      if (this.attempt > 1) return "second";
      return new Promise<string>(() => {}); // only the timeout ends it
    }, {
      maxAttempts: 2,
      timeout: 20,
      backoff: () => {
        throw new Error("backoff is broken");
      },
    });
    const id = await queue.enqueue(job);
    const worker = track(queue.worker({ pollInterval: 20 }));
    await worker.start();
    // The default backoff's first delay is about a second.
    await expectCompleted(queue, id, "second", { attempts: 2 });
    const record = await queue.getTask(id);
    expect(record.history.map((attempt) => attempt.outcome)).toEqual([
      "timed_out",
      "completed",
    ]);
    expect(record.history[0]?.error?.name).toBe(TaskTimeoutError.name);
  });
});

describe("A logger that throws", () => {
  test("does not stop the worker: tasks still run and the worker stops cleanly", async () => {
    const queue = newQueue();
    const calls: string[] = [];
    const throwing = (level: string) => (_data: object, message: string) => {
      calls.push(`${level}: ${message}`);
      throw new Error(`logger.${level} is broken`);
    };
    const logger: Logger = {
      debug: throwing("debug"),
      info: throwing("info"),
      warn: throwing("warn"),
      error: throwing("error"),
    };
    const job = queue.task("job", (n: number) => n * 2);
    const worker = track(queue.worker({ logger }));
    await worker.start();
    const ids = await queue.enqueueMany(job, [[1], [2], [3]]);
    for (const [index, id] of ids.entries()) {
      await expectCompleted(queue, id, (index + 1) * 2);
    }
    await worker.stop();
    expect(worker.running).toBe(false);
    expect(calls).toContain("info: worker started");
    expect(calls).toContain("info: worker stopped");
  });
});

describe("stop() racing start()", () => {
  test("stop() called before start() has finished opening waits for it and leaves the worker stopped", async () => {
    const queue = newQueue();
    const job = queue.task("job", () => "ran");
    const worker = track(queue.worker({ pollInterval: HOUR }));
    const starting = worker.start();
    const stopping = worker.stop();
    await Promise.all([starting, stopping]);
    expect(worker.running).toBe(false);
    await worker.done;
    // Nothing runs it: processOne() is allowed only on a stopped worker.
    const id = await queue.enqueue(job);
    expect(await worker.processOne()).toBe(true);
    await expectCompleted(queue, id, "ran");
  });
});

describe("Durations no timer can honour", () => {
  const tooLong = 2 ** 31;
  test.each([
    [
      "a task's timeout",
      () => newQueue().task("t", () => {}, { timeout: tooLong }),
    ],
    ["a worker's pollInterval", () => {
      const queue = newQueue();
      queue.task("t", () => {});
      queue.worker({ pollInterval: tooLong });
    }],
    ["a worker's leaseDuration", () => {
      const queue = newQueue();
      queue.task("t", () => {});
      queue.worker({ leaseDuration: tooLong });
    }],
  ])(
    "%s of 2^31 ms is refused with a RangeError naming the limit",
    (_, make) => {
      const error = thrownBy(make);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("at most 2147483647 ms");
    },
  );

  test("waitForResult() with a timeout of 2^31 ms is refused, not turned into 1 ms", async () => {
    const queue = newQueue();
    const job = queue.task("t", () => {});
    const id = await queue.enqueue(job);
    let error: unknown;
    try {
      await queue.waitForResult(id, { timeout: tooLong });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RangeError);
  });

  test("a delay longer than any timer is fine: it is a run time, not a timer", async () => {
    const queue = newQueue();
    const job = queue.task("t", () => {});
    const before = Date.now();
    const id = await queue.enqueue(job.with({ delay: 40 * 24 * HOUR }));
    const record = await queue.getTask(id);
    expect(record.status).toBe("queued");
    expect(record.runAt.getTime()).toBeGreaterThanOrEqual(
      before + 40 * 24 * HOUR,
    );
  });
});

describe("A handler's signal", () => {
  test("read for the first time after its timeout fired, is already aborted with the timeout", async () => {
    const queue = newQueue();
    const seen = deferred<unknown>();
    const job = queue.task("job", async function (this: TaskContext) {
      // Wait well past the timeout before touching the signal at all.
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen.resolve(this.signal.aborted ? this.signal.reason : "not aborted");
    }, { timeout: 10, maxAttempts: 1 });
    const id = await queue.enqueue(job);
    const worker = track(queue.worker());
    await worker.start();
    expect(await seen.promise).toBeInstanceOf(TaskTimeoutError);
    expect((await queue.waitForResult(id, { timeout: 10_000 })).status).toBe(
      "failed",
    );
  });
});
