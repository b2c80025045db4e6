/**
 * Work that would silently never run (issue 7, item 11): a worker from
 * `queue.worker()` runs the queue's tasks as they are when it starts, and
 * due work that no running worker handles is made visible, as a warning in
 * the worker's logger and as counts per task name.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type Logger, SQLiteBackend, TaskQueue, Worker } from "../mod.ts";
import {
  cleanup,
  closeLater,
  HOUR,
  newQueue,
  tempDbPath,
  thrownBy,
  waitUntil,
} from "./helpers.ts";
import { track } from "./worker_helpers.ts";

afterAll(cleanup);

/** A logger that keeps its warnings. */
function recordingLogger(): {
  logger: Logger;
  warnings: Array<{ message: string; data?: Record<string, unknown> }>;
} {
  const warnings: Array<{ message: string; data?: Record<string, unknown> }> =
    [];
  return {
    logger: { warn: (data, message) => warnings.push({ message, data }) },
    warnings,
  };
}

/** The names and counts of the unhandled-work warnings logged so far. */
function unhandledReported(
  warnings: ReturnType<typeof recordingLogger>["warnings"],
): Record<string, unknown> {
  const reported: Record<string, unknown> = {};
  for (const { data } of warnings) {
    Object.assign(reported, data?.unhandled ?? {});
  }
  return reported;
}

describe("a worker from queue.worker() binds the queue's tasks when it starts", () => {
  test("a task defined after queue.worker() and before start() is run", async () => {
    const queue = newQueue();
    queue.task("early", () => "early");
    const worker = track(queue.worker());
    const late = queue.task("late", () => "late");
    const id = await queue.enqueue(late);
    await worker.start();
    await worker.onIdle();
    expect(await queue.getResult(id)).toEqual({
      status: "completed",
      value: "late",
      attempts: 1,
    });
    expect(worker.taskNames).toEqual(["early", "late"]);
  });

  test("taskNames lists the names the worker claims, read again at each start", async () => {
    const queue = newQueue();
    queue.task("a", () => {});
    const worker = track(queue.worker());
    expect(worker.taskNames).toEqual(["a"]);
    queue.task("b", () => {});
    await worker.start();
    expect(worker.taskNames).toEqual(["a", "b"]);
    await worker.stop();
    queue.task("c", () => {});
    await worker.start();
    expect(worker.taskNames).toEqual(["a", "b", "c"]);
  });

  test("processOne() runs a task defined after queue.worker()", async () => {
    const queue = newQueue();
    queue.task("first", () => {});
    const worker = queue.worker();
    const later = queue.task("later", () => "done");
    const id = await queue.enqueue(later);
    expect(await worker.processOne()).toBe(true);
    expect((await queue.getResult(id)).status).toBe("completed");
  });

  test("an explicit task list is read as given; a copy from queue.tasks keeps what it held", async () => {
    const queue = newQueue();
    const a = queue.task("a", () => {});
    const worker = track(new Worker(queue.backend, { tasks: queue.tasks }));
    queue.task("b", () => {});
    await worker.start();
    expect(worker.taskNames).toEqual(["a"]);
    const explicit = track(new Worker(queue.backend, { tasks: [a] }));
    expect(explicit.taskNames).toEqual(["a"]);
  });

  test("queue.worker() on a queue with no task yet says to define tasks first", () => {
    const queue = newQueue();
    const error = thrownBy(() => queue.worker());
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("queue.task()");
  });

  test("a task defined while the worker runs is not run by it, and the worker says so", async () => {
    const queue = newQueue();
    queue.task("a", () => {});
    const { logger, warnings } = recordingLogger();
    // A short poll makes the periodic check come soon; the test waits for
    // the warning (a state), not for a time.
    const worker = track(queue.worker({ logger, pollInterval: 5 }));
    await worker.start();
    const afterStart = queue.task("after-start", () => "ran");
    const id = await queue.enqueue(afterStart);
    await waitUntil(
      () => "after-start" in unhandledReported(warnings),
      "a warning about after-start",
    );
    expect((await queue.getResult(id)).status).toBe("queued");
    await worker.stop();
    await worker.start();
    await worker.onIdle();
    expect((await queue.getResult(id)).status).toBe("completed");
  });
});

describe("due work no running worker handles is reported", () => {
  test("a task under a name no worker handles: the worker warns once it is idle, and statsByName counts it", async () => {
    const path = tempDbPath();
    // A producer that knows a name the worker's queue does not.
    const producer = newQueue({}, path);
    const typo = producer.task("resise", (_path: string) => {});
    await producer.enqueue(typo, "cat.png");
    await producer.enqueue(typo, "dog.png");

    const consumer = newQueue({}, path);
    consumer.task("resize", (_path: string) => {});
    const { logger, warnings } = recordingLogger();
    const worker = track(consumer.worker({ logger, pollInterval: HOUR }));
    await worker.start();
    await worker.onIdle();

    expect(unhandledReported(warnings)).toEqual({ resise: 2 });
    const warning = warnings.find(({ data }) => data?.unhandled !== undefined);
    expect(warning?.message).toContain("no running worker");
    expect(warning?.data?.workerId).toBe(worker.id);
    expect(warning?.data?.handledHere).toEqual(["resize"]);

    const byName = await consumer.statsByName();
    expect(byName.get("resise")).toEqual({
      waiting: 0,
      queued: 2,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    expect(worker.taskNames.includes("resise")).toBe(false);
  });

  test("names handled by another running worker of this process on the same backend are not reported", async () => {
    const queue = newQueue();
    const images = queue.task("images", () => {});
    const emails = queue.task("emails", () => {});
    const { logger, warnings } = recordingLogger();
    const emailWorker = track(
      new Worker(queue.backend, { tasks: [emails], pollInterval: HOUR }),
    );
    await emailWorker.start();
    const imageWorker = track(
      new Worker(queue.backend, {
        tasks: [images],
        logger,
        pollInterval: HOUR,
      }),
    );
    await queue.enqueue(emails);
    await queue.enqueue(images);
    await imageWorker.start();
    await imageWorker.onIdle();
    await emailWorker.onIdle();
    expect(unhandledReported(warnings)).toEqual({});
    expect(await queue.stats()).toMatchObject({ queued: 0, completed: 2 });
  });

  test("tasks delayed into the future are not reported: they are not due yet", async () => {
    const path = tempDbPath();
    const producer = newQueue({}, path);
    const later = producer.task("later", () => {});
    await producer.enqueue(later.with({ delay: HOUR }));
    const consumer = newQueue({}, path);
    consumer.task("now", () => {});
    const { logger, warnings } = recordingLogger();
    const worker = track(consumer.worker({ logger, pollInterval: HOUR }));
    await worker.start();
    await worker.onIdle();
    expect(unhandledReported(warnings)).toEqual({});
  });
});

describe("statsByName()", () => {
  test("counts every name's tasks per status with zeros, names in order, __proto__ included", async () => {
    const queue = newQueue();
    const b = queue.task("b", () => {});
    const a = queue.task("a", () => {
      throw new Error("no");
    }, { maxAttempts: 1 });
    const proto = queue.task("__proto__", () => {});
    queue.task("never-enqueued", () => {});
    await queue.enqueue(a);
    await queue.enqueue(b);
    await queue.enqueue(b);
    await queue.enqueue(proto);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true); // a fails
    const stats = await queue.statsByName();
    expect([...stats.keys()]).toEqual(["__proto__", "a", "b"]);
    expect(stats.get("a")).toEqual({
      waiting: 0,
      queued: 0,
      running: 0,
      completed: 0,
      failed: 1,
      cancelled: 0,
    });
    expect(stats.get("b")?.queued).toBe(2);
    expect(stats.get("__proto__")?.queued).toBe(1);
  });

  test("an empty database gives an empty map", async () => {
    const queue = newQueue();
    expect((await queue.statsByName()).size).toBe(0);
  });
});

describe("Backend.countDueExcept", () => {
  test("counts due queued tasks outside the given names, per name, reading at most `limit`", async () => {
    const backend = closeLater(new SQLiteBackend(tempDbPath()));
    const queue = new TaskQueue(backend);
    const x = queue.task("x", () => {});
    const y = queue.task("y", () => {});
    const z = queue.task("z", () => {});
    await queue.enqueueMany(x, [[], [], []]);
    await queue.enqueueMany(y, [[], []]);
    await queue.enqueue(z.with({ delay: HOUR }));
    const now = Date.now();
    expect(await backend.countDueExcept({ names: [], now, limit: 100 }))
      .toEqual([{ name: "x", count: 3 }, { name: "y", count: 2 }]);
    expect(await backend.countDueExcept({ names: ["x"], now, limit: 100 }))
      .toEqual([{ name: "y", count: 2 }]);
    const capped = await backend.countDueExcept({ names: [], now, limit: 4 });
    expect(capped.reduce((sum, { count }) => sum + count, 0)).toBe(4);
    expect(
      await backend.countDueExcept({ names: ["x", "y"], now, limit: 100 }),
    ).toEqual([]);
  });
});
