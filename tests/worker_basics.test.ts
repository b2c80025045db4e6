/**
 * The worker's lifecycle and surface: options, start/stop/done, events and
 * stats, processOne, order of claims, delayed tasks, specialised workers,
 * wake-ups without polling, and loop errors that are reported, not fatal.
 * Real SQLite files; every wait is on a state, never on an amount of time.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import {
  DatabaseError,
  InvalidStateError,
  PermanentError,
  SQLiteBackend,
  type TaskContext,
  TaskQueue,
  Worker,
  type WorkerEvents,
  type WorkerOptions,
} from "../mod.ts";
import {
  cleanup,
  completed,
  deferred,
  heldTask,
  HOUR,
  ManualClock,
  newQueue,
  numberedArgs,
  rejectionOf,
  tempDbPath,
  thrownBy,
  waitUntil,
} from "./helpers.ts";
import { countingQueue, track } from "./worker_helpers.ts";

afterAll(cleanup);

/** Task "job" on `queue`, whose handler records its argument in `runs`. */
function recordingJob<T>(queue: TaskQueue) {
  const runs: T[] = [];
  const job = queue.task("job", (value: T) => {
    runs.push(value);
  });
  return { job, runs };
}

describe("Worker options", () => {
  const queue = newQueue();
  const noop = queue.task("noop", () => {});
  const backend = queue.backend;
  /** A worker of task noop with `options`. */
  const workerWith = (options: Partial<WorkerOptions>) =>
    new Worker(backend, { tasks: [noop], ...options });
  /** What `new Worker()` of task noop with `options` throws. */
  const errorFor = (options: Record<string, unknown>) =>
    thrownBy(() => workerWith(options));

  test("new Worker() rejects a missing backend and missing or empty tasks with TypeError", () => {
    expect(thrownBy(() => new Worker(undefined as never, { tasks: [noop] })))
      .toBeInstanceOf(TypeError);
    expect(thrownBy(() => new Worker(backend, undefined as never)))
      .toBeInstanceOf(TypeError);
    for (const tasks of [[], "noop", [{}]]) {
      expect(errorFor({ tasks })).toBeInstanceOf(TypeError);
    }
    expect(() => workerWith({})).not.toThrow();
  });

  test("new Worker() rejects concurrency 0 with RangeError and non-integers with an error", () => {
    for (
      const options of [
        { concurrency: 0 },
        { concurrency: -1 },
        { maxConcurrency: 0 },
      ]
    ) {
      expect(errorFor(options)).toBeInstanceOf(RangeError);
    }
    const fractional = errorFor({ concurrency: 1.5 });
    expect(fractional instanceof TypeError || fractional instanceof RangeError)
      .toBe(true);
  });

  test("new Worker() accepts maxConcurrency as an alias of concurrency", () => {
    expect(workerWith({ maxConcurrency: 3 }).concurrency).toBe(3);
    expect(workerWith({ concurrency: 5 }).concurrency).toBe(5);
    expect(workerWith({ concurrency: 2, maxConcurrency: 2 }).concurrency)
      .toBe(2);
    expect(workerWith({}).concurrency).toBe(1);
  });

  test("new Worker() rejects concurrency and maxConcurrency that disagree with TypeError", () => {
    const error = errorFor({ concurrency: 2, maxConcurrency: 3 });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("maxConcurrency");
  });

  test("new Worker() rejects a heartbeatInterval not shorter than the leaseDuration with RangeError", () => {
    const equal = errorFor({ leaseDuration: 1000, heartbeatInterval: 1000 });
    expect(equal).toBeInstanceOf(RangeError);
    expect((equal as Error).message).toContain("heartbeatInterval");
    expect(errorFor({ leaseDuration: 1000, heartbeatInterval: 5000 }))
      .toBeInstanceOf(RangeError);
    // Against the default lease of 30 s.
    expect(errorFor({ heartbeatInterval: 30_000 })).toBeInstanceOf(RangeError);
    expect(() => workerWith({ leaseDuration: 1000, heartbeatInterval: 999 }))
      .not.toThrow();
  });

  test("new Worker() rejects unknown options, bad durations and an empty workerId", () => {
    const cases: Array<[Record<string, unknown>, ErrorConstructor]> = [
      [{ concurency: 2 }, TypeError],
      [{ pollInterval: 0 }, RangeError],
      [{ leaseDuration: -5 }, RangeError],
      [{ workerId: "  " }, TypeError],
    ];
    for (const [options, type] of cases) {
      expect(errorFor(options)).toBeInstanceOf(type);
    }
    expect(workerWith({ workerId: "w-1" }).id).toBe("w-1");
  });

  test("Worker.stop() rejects an unknown option and a negative timeout", () => {
    const worker = workerWith({});
    expect(thrownBy(() => worker.stop({ timout: 5 } as never))).toBeInstanceOf(
      TypeError,
    );
    expect(thrownBy(() => worker.stop({ timeout: -1 }))).toBeInstanceOf(
      RangeError,
    );
  });

  test("queue.worker() defaults to the queue's tasks and gives each worker its own id", () => {
    const a = queue.worker();
    const b = queue.worker();
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^worker-/);
    expect(a.backend).toBe(queue.backend);
  });
});

describe("Worker lifecycle", () => {
  test("Worker.start() twice is harmless: one loop, each task runs once", async () => {
    const queue = newQueue();
    const { job, runs } = recordingJob<number>(queue);
    const worker = track(queue.worker({ concurrency: 2 }));
    await worker.start();
    await worker.start();
    await Promise.all([worker.start(), worker.start()]);
    expect(worker.running).toBe(true);
    const ids = await queue.enqueueMany(job, [[1], [2], [3], [4]]);
    for (const id of ids) await queue.waitForResult(id, { timeout: 10_000 });
    await worker.onIdle();
    await worker.stop();
    expect(runs.sort()).toEqual([1, 2, 3, 4]);
    expect(worker.stats().completed).toBe(4);
  });

  test("Worker.done is resolved before start, pending while running, and settles after stop()", async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = track(queue.worker());
    await worker.done; // resolved before the first start
    await worker.start();
    let settled = false;
    const done = worker.done.then(() => settled = true);
    await worker.onIdle();
    expect(settled).toBe(false);
    const stopping = worker.stop();
    expect(worker.stop()).toBe(stopping); // the same promise while stopping
    await stopping;
    await done;
    expect(settled).toBe(true);
    expect(worker.running).toBe(false);
    expect(worker.stats().running).toBe(false);
  });

  test("Worker.start() while stop() is in progress throws InvalidStateError", async () => {
    const queue = newQueue();
    const held = heldTask(queue, "job", undefined);
    await queue.enqueue(held.task);
    const worker = track(queue.worker());
    await worker.start();
    await held.started;
    const stopping = worker.stop();
    expect(await rejectionOf(worker.start())).toBeInstanceOf(InvalidStateError);
    held.release();
    await stopping;
  });

  test("Worker.stop() on a worker never started resolves, and stop() twice after stopping is harmless", async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = queue.worker();
    await worker.stop();
    await worker.start();
    await worker.stop();
    await worker.stop();
    expect(worker.running).toBe(false);
  });

  test("A stopped worker can be started again and runs new tasks", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n * 2);
    const worker = track(queue.worker());
    await worker.start();
    await worker.stop();
    const id = await queue.enqueue(job, 21);
    await worker.start();
    expect(await queue.waitForResult(id, { timeout: 10_000 })).toMatchObject({
      status: "completed",
      value: 42,
    });
    await worker.stop();
  });

  test("Worker.stop() never closes the backend: the queue and a new worker keep working", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n + 1);
    const first = track(queue.worker());
    await first.start();
    const before = await queue.enqueue(job, 1);
    await queue.waitForResult(before, { timeout: 10_000 });
    await first.stop();

    const after = await queue.enqueue(job, 2);
    expect((await queue.getResult(after)).status).toBe("queued");
    const second = track(queue.worker());
    await second.start();
    expect(await queue.waitForResult(after, { timeout: 10_000 })).toMatchObject(
      {
        status: "completed",
        value: 3,
      },
    );
    await second.stop();
    expect(await queue.stats()).toMatchObject({ completed: 2 });
  });

  test("Worker.processOne() while the worker runs throws InvalidStateError", async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = track(queue.worker());
    await worker.start();
    expect(await rejectionOf(worker.processOne())).toBeInstanceOf(
      InvalidStateError,
    );
    await worker.stop();
    expect(await worker.processOne()).toBe(false);
  });

  test("Worker.processOne() runs one due task to the end and stores its outcome", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n * 3);
    const [a, b] = await queue.enqueueMany(job, [[1], [2]]);
    const worker = queue.worker({ workerId: "w-one" });
    expect(await worker.processOne()).toBe(true);
    expect(await queue.getResult(a!)).toEqual(completed(3));
    expect((await queue.getResult(b!)).status).toBe("queued");
    expect(await worker.processOne()).toBe(true);
    expect(await worker.processOne()).toBe(false);
    const record = await queue.getTask(b!);
    expect(record.workerId).toBe("w-one");
    expect(record.history.map((h) => [h.attempt, h.outcome, h.workerId]))
      .toEqual([
        [1, "completed", "w-one"],
      ]);
  });

  test("Worker.onIdle() resolves at once when not running, and after the queue drains when running", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n);
    const worker = track(queue.worker({ concurrency: 3 }));
    await worker.onIdle();
    await queue.enqueueMany(job, numberedArgs(10));
    await worker.start();
    await worker.onIdle();
    expect(await queue.stats()).toMatchObject({
      queued: 0,
      running: 0,
      completed: 10,
    });
    await worker.stop();
  });
});

describe("Worker events and stats", () => {
  test("Worker emits completed, retrying and failed with their payloads, and stats() counts them", async () => {
    const queue = newQueue();
    const ok = queue.task("ok", (n: number) => ({ doubled: n * 2 }));
    const flaky = queue.task("flaky", function (this: TaskContext) {
      if (this.attempt === 1) throw new RangeError("first try fails");
      return "second try";
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
    const bad = queue.task("bad", () => {
      throw new TypeError("always fails");
    }, { maxAttempts: 1 });

    const worker = track(queue.worker({ concurrency: 1 }));
    const events: Array<[keyof WorkerEvents, unknown]> = [];
    worker.on("completed", (payload) => events.push(["completed", payload]));
    worker.on("failed", (payload) => events.push(["failed", payload]));
    worker.on("retrying", (payload) => events.push(["retrying", payload]));
    const errors: Error[] = [];
    worker.on("error", ({ error }) => errors.push(error));
    expect(worker.stats()).toMatchObject({
      running: false,
      active: 0,
      completed: 0,
      failed: 0,
      retried: 0,
      uptime: 0,
    });

    const okId = await queue.enqueue(ok, 21);
    const flakyId = await queue.enqueue(flaky);
    const badId = await queue.enqueue(bad);
    await worker.start();
    await queue.waitForResult(okId, { timeout: 10_000 });
    await queue.waitForResult(flakyId, { timeout: 10_000 });
    await queue.waitForResult(badId, { timeout: 10_000 });
    await worker.onIdle();

    const byKind = (kind: keyof WorkerEvents) =>
      events.filter(([k]) => k === kind).map(([, payload]) =>
        payload as Record<string, unknown>
      );
    const completed = byKind("completed");
    expect(completed).toHaveLength(2);
    expect(completed.find((e) => e.id === okId)).toMatchObject({
      id: okId,
      name: "ok",
      attempt: 1,
      value: { doubled: 42 },
    });
    expect(completed.find((e) => e.id === flakyId)).toMatchObject({
      name: "flaky",
      attempt: 2,
      value: "second try",
    });
    /** The one event of `kind`, which must match `expected`. */
    const onlyEvent = (kind: keyof WorkerEvents, expected: object) => {
      const list = byKind(kind);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject(expected);
      return list[0]!;
    };
    const retrying = onlyEvent("retrying", {
      id: flakyId,
      name: "flaky",
      attempt: 1,
      error: { name: "RangeError", message: "first try fails" },
    });
    expect(retrying.retryAt).toBeInstanceOf(Date);
    const failed = onlyEvent("failed", {
      id: badId,
      name: "bad",
      attempt: 1,
      error: { name: "TypeError", message: "always fails" },
    });
    expect(typeof (failed.error as { stack?: string }).stack).toBe("string");
    for (const [, payload] of events) {
      expect((payload as { duration: number }).duration).toBeGreaterThanOrEqual(
        0,
      );
    }
    expect(errors).toEqual([]);

    const stats = worker.stats();
    expect(stats).toMatchObject({
      running: true,
      active: 0,
      currentTasks: [],
      completed: 2,
      failed: 1,
      retried: 1,
    });
    expect(stats.uptime).toBeGreaterThan(0);
    expect(stats.averageDuration).toBeGreaterThanOrEqual(0);
    await worker.stop();
  });

  test("Worker.stats() shows the running tasks while their handlers run", async () => {
    const queue = newQueue();
    const latch = deferred();
    let started = 0;
    const job = queue.task("job", async () => {
      started++;
      await latch.promise;
    });
    const ids = await queue.enqueueMany(job, [[], [], []]);
    const worker = track(queue.worker({ concurrency: 2 }));
    await worker.start();
    await waitUntil(() => started === 2, "two handlers to start");
    const stats = worker.stats();
    expect(stats.active).toBe(2);
    expect([...stats.currentTasks].sort()).toEqual([ids[0]!, ids[1]!]);
    latch.resolve();
    await worker.onIdle();
    expect(worker.stats()).toMatchObject({ active: 0, completed: 3 });
    await worker.stop();
  });

  test("Worker.on() returns an unsubscribe function, and a throwing listener does not break the worker", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n);
    const worker = track(queue.worker());
    const seen: number[] = [];
    const off = worker.on(
      "completed",
      ({ value }) => seen.push(value as number),
    );
    worker.on("completed", () => {
      throw new Error("listener bug");
    });
    await worker.start();
    await queue.waitForResult(await queue.enqueue(job, 1), { timeout: 10_000 });
    await worker.onIdle();
    off();
    await queue.waitForResult(await queue.enqueue(job, 2), { timeout: 10_000 });
    await worker.onIdle();
    expect(seen).toEqual([1]);
    expect(worker.stats().completed).toBe(2);
    await worker.stop();
  });
});

describe("Worker claim order", () => {
  test("Worker claims by priority (high first), then run time, then enqueue order", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const { job, runs: order } = recordingJob<string>(queue);
    const t = clock.now();
    // Enqueued deliberately out of the expected order.
    await queue.enqueue(job.with({ runAt: new Date(t - 1000) }), "p0-early");
    await queue.enqueue(
      job.with({ priority: 5, runAt: new Date(t - 10) }),
      "p5-late",
    );
    await queue.enqueue(job, "p0-now-a");
    await queue.enqueue(
      job.with({ priority: -1, runAt: new Date(t - 5000) }),
      "pneg-earliest",
    );
    await queue.enqueue(
      job.with({ priority: 5, runAt: new Date(t - 20) }),
      "p5-early",
    );
    await queue.enqueue(job, "p0-now-b");
    await queue.enqueue(job.with({ priority: 10 }), "p10");
    await queue.enqueue(
      job.with({ runAt: new Date(t - 1000) }),
      "p0-early-second",
    );

    const worker = queue.worker();
    while (await worker.processOne());
    expect(order).toEqual([
      "p10",
      "p5-early",
      "p5-late",
      "p0-early",
      "p0-early-second",
      "p0-now-a",
      "p0-now-b",
      "pneg-earliest",
    ]);
  });

  test("A running worker with concurrency 1 runs tasks in queue order", async () => {
    const queue = newQueue();
    const { job, runs: order } = recordingJob<number>(queue);
    await queue.enqueue(job, 1);
    await queue.enqueue(job.with({ priority: 3 }), 2);
    await queue.enqueue(job, 3);
    await queue.enqueue(job.with({ priority: 3 }), 4);
    await queue.enqueue(job.with({ priority: 7 }), 5);
    const worker = track(queue.worker({ concurrency: 1 }));
    await worker.start();
    await worker.onIdle();
    await worker.stop();
    expect(order).toEqual([5, 2, 4, 1, 3]);
  });
});

describe("Worker and delayed tasks", () => {
  test("A delayed task is not claimed before its run time and is claimed at it (ManualClock)", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const { job, runs } = recordingJob<string>(queue);
    const id = await queue.enqueue(job.with({ delay: 5000 }), "delayed");
    const at = await queue.enqueue(
      job.with({ runAt: new Date(clock.now() + 9000) }),
      "at",
    );
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(false);
    clock.advance(4999);
    expect(await worker.processOne()).toBe(false);
    expect((await queue.getResult(id)).status).toBe("queued");
    clock.advance(1);
    expect(await worker.processOne()).toBe(true);
    expect(runs).toEqual(["delayed"]);
    expect(await worker.processOne()).toBe(false);
    clock.advance(4000);
    expect(await worker.processOne()).toBe(true);
    expect(runs).toEqual(["delayed", "at"]);
    expect((await queue.getResult(at)).status).toBe("completed");
  });

  test("A running worker leaves a task delayed by an hour alone while it runs due ones", async () => {
    const queue = newQueue();
    const { job, runs } = recordingJob<string>(queue);
    const later = await queue.enqueue(job.with({ delay: HOUR }), "later");
    const worker = track(queue.worker({ pollInterval: 20 }));
    await worker.start();
    const now = await queue.enqueue(job, "now");
    await queue.waitForResult(now, { timeout: 10_000 });
    await worker.onIdle();
    await worker.stop();
    expect(runs).toEqual(["now"]);
    expect(await queue.getResult(later)).toMatchObject({
      status: "queued",
      attempts: 0,
    });
  });
});

describe("Specialised workers", () => {
  test("Two workers on one database each run only the task names they have handlers for", async () => {
    const path = tempDbPath();
    const producer = newQueue({}, path);
    const email = producer.task("email", (n: number) => n);
    const resize = producer.task("resize", (n: number) => n);
    const emailIds = await producer.enqueueMany(email, [[1], [2], [3], [4]]);
    const resizeIds = await producer.enqueueMany(resize, [[5], [6], [7]]);

    const ran: Array<[string, string]> = [];
    const emailQueue = newQueue({}, path);
    emailQueue.task("email", function (this: TaskContext) {
      ran.push([this.workerId, this.name]);
    });
    const resizeQueue = newQueue({}, path);
    resizeQueue.task("resize", function (this: TaskContext) {
      ran.push([this.workerId, this.name]);
    });
    const emailWorker = track(
      emailQueue.worker({ workerId: "w-email", concurrency: 2 }),
    );
    const resizeWorker = track(
      resizeQueue.worker({ workerId: "w-resize", concurrency: 2 }),
    );
    await emailWorker.start();
    await emailWorker.onIdle();
    // Only the email worker has run so far: resize tasks are untouched.
    expect((await producer.stats()).completed).toBe(4);
    for (const id of resizeIds) {
      expect(await producer.getResult(id)).toMatchObject({
        status: "queued",
        attempts: 0,
      });
    }
    await resizeWorker.start();
    for (const id of [...emailIds, ...resizeIds]) {
      await producer.waitForResult(id, { timeout: 10_000 });
    }
    await Promise.all([emailWorker.stop(), resizeWorker.stop()]);
    expect(ran.filter(([w]) => w === "w-email").map(([, n]) => n)).toEqual([
      "email",
      "email",
      "email",
      "email",
    ]);
    expect(ran.filter(([w]) => w === "w-resize").map(([, n]) => n)).toEqual([
      "resize",
      "resize",
      "resize",
    ]);
    for (const id of emailIds) {
      expect((await producer.getTask(id)).workerId).toBe("w-email");
    }
    for (const id of resizeIds) {
      expect((await producer.getTask(id)).workerId).toBe("w-resize");
    }
  });

  test("A worker given a subset of a queue's tasks leaves the other names queued", async () => {
    const queue = newQueue();
    const a = queue.task("a", () => "a");
    const b = queue.task("b", () => "b");
    const idA = await queue.enqueue(a);
    const idB = await queue.enqueue(b);
    const worker = queue.worker({ tasks: [b] });
    expect(await worker.processOne()).toBe(true);
    expect(await worker.processOne()).toBe(false);
    expect((await queue.getResult(idA)).status).toBe("queued");
    expect((await queue.getResult(idB)).status).toBe("completed");
  });
});

describe("Worker wake-ups", () => {
  test("A worker with a one-hour pollInterval runs a task enqueued in its process without polling", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n * 10);
    const worker = track(queue.worker({ pollInterval: HOUR }));
    await worker.start();
    await worker.onIdle();
    for (let n = 1; n <= 3; n++) {
      const id = await queue.enqueue(job, n);
      expect(await queue.waitForResult(id, { timeout: 10_000 })).toMatchObject({
        status: "completed",
        value: n * 10,
      });
    }
    await worker.stop();
  });

  test("A worker with a one-hour pollInterval keeps up with enqueues that race its claims", async () => {
    // Each enqueue lands while the previous task's settle-and-claim may be
    // in flight; a wake-up lost there would leave a task queued for an hour.
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n);
    const worker = track(queue.worker({ pollInterval: HOUR, concurrency: 2 }));
    await worker.start();
    const ids: number[] = [];
    for (let n = 0; n < 150; n++) ids.push(await queue.enqueue(job, n));
    await waitUntil(
      async () => (await queue.stats()).completed === ids.length,
      "every task to complete without a poll",
    );
    await worker.stop();
  });

  test("A worker with a one-hour pollInterval does not lose a wake-up that arrives while its claim returns", async () => {
    // The interleaving forced here happens by chance in production: a task
    // is committed just after the worker's claim transaction, and its
    // "enqueued" signal reaches the worker before the claim's (short) result.
    // No change poll either: only the in-process signal can wake the worker.
    const { queue, backend } = countingQueue({
      backend: { changePollInterval: 0 },
    });
    const job = queue.task("job", (n: number) => n);
    let enqueueDuringClaim = false;
    let lateId: number | undefined;
    backend.afterClaim = async () => {
      if (!enqueueDuringClaim) return;
      enqueueDuringClaim = false;
      lateId = await queue.enqueue(job, 2);
    };
    // Concurrency 2, so the claim comes back short of its limit: the case
    // where the worker concludes the queue holds no more due work.
    const worker = track(queue.worker({ pollInterval: HOUR, concurrency: 2 }));
    await worker.start();
    await worker.onIdle();
    enqueueDuringClaim = true;
    const first = await queue.enqueue(job, 1);
    await queue.waitForResult(first, { timeout: 10_000 });
    await waitUntil(() => lateId !== undefined, "the enqueue during the claim");
    expect(await queue.waitForResult(lateId!, { timeout: 10_000 }))
      .toMatchObject({
        status: "completed",
        value: 2,
      });
    await worker.stop();
  });

  test("A worker with a one-hour pollInterval runs a task enqueued through another connection", async () => {
    // Another backend object on the same file is another connection: the
    // worker can learn of its commits only from the data_version poll.
    const path = tempDbPath();
    const queue = newQueue({}, path);
    queue.task("job", (n: number) => n + 100);
    const other = newQueue({}, path);
    const job = other.task("job", (n: number) => n);
    const worker = track(queue.worker({ pollInterval: HOUR }));
    await worker.start();
    await worker.onIdle();
    const id = await other.enqueue(job, 1);
    expect(await queue.waitForResult(id, { timeout: 10_000 })).toMatchObject({
      status: "completed",
      value: 101,
    });
    await worker.stop();
  });
});

describe("Worker loop errors", () => {
  test(
    "A locked database is reported as an error event, and the worker goes on once the lock is released",
    async () => {
      const path = tempDbPath();
      const queue = newQueue({ backend: { busyTimeout: 50 } }, path);
      const job = queue.task("job", (n: number) => n * 2);
      const id = await queue.enqueue(job, 4); // opens the file, creates the schema

      const locker = new Database(path);
      locker.run("pragma busy_timeout = 5000");
      locker.run("begin immediate");
      const worker = track(queue.worker({ pollInterval: 50 }));
      const errors: Error[] = [];
      const firstError = deferred<Error>();
      worker.on("error", ({ error }) => {
        errors.push(error);
        firstError.resolve(error);
      });
      try {
        await worker.start();
        const error = await firstError.promise;
        expect(error).toBeInstanceOf(DatabaseError);
        expect((error as DatabaseError).code).toBe("DATABASE_LOCKED");
        expect((await queue.getResult(id)).status).toBe("queued");
        expect(worker.running).toBe(true);
      } finally {
        locker.run("rollback");
        locker.close();
      }
      expect(await queue.waitForResult(id, { timeout: 15_000 })).toMatchObject({
        status: "completed",
        value: 8,
      });
      expect(worker.running).toBe(true);
      await worker.stop();
      expect(errors.length).toBeGreaterThan(0);
    },
    30_000,
  );

  test("A worker whose backend was closed under it reports the error and its loop ends", async () => {
    const path = tempDbPath();
    const backend = new SQLiteBackend(path);
    const queue = new TaskQueue(backend);
    queue.task("noop", () => {});
    const worker = track(queue.worker({ pollInterval: 20 }));
    const errors: Error[] = [];
    worker.on("error", ({ error }) => errors.push(error));
    await worker.start();
    await backend.close();
    await worker.done; // the loop gives up: nothing can be written any more
    expect(worker.running).toBe(false);
    expect(
      errors.some((e) => e instanceof DatabaseError && e.code === "CLOSED"),
    ).toBe(true);
  });

  test("A handler throwing a PermanentError from a worker with several task names leaves the others running", async () => {
    const queue = newQueue();
    const bad = queue.task("bad", () => {
      throw new PermanentError("nope");
    });
    const good = queue.task("good", (n: number) => n);
    const badId = await queue.enqueue(bad);
    const goodId = await queue.enqueue(good, 7);
    const worker = track(queue.worker({ concurrency: 2 }));
    await worker.start();
    expect(await queue.waitForResult(badId, { timeout: 10_000 })).toMatchObject(
      {
        status: "failed",
        attempts: 1,
        error: { name: "PermanentError", message: "nope" },
      },
    );
    expect(await queue.waitForResult(goodId, { timeout: 10_000 }))
      .toMatchObject({
        status: "completed",
        value: 7,
      });
    await worker.stop();
  });
});
