/**
 * The queue API: defining tasks, enqueueing, reading and awaiting results,
 * inspecting, cancelling, requeueing and pruning. Real SQLite files; workers
 * run tasks with `processOne()` or `start()`, never with sleeps.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  CancelledError,
  InvalidStateError,
  SerializationError,
  SitqError,
  SQLiteBackend,
  type Task,
  type TaskId,
  TaskNotFoundError,
  TaskQueue,
  type TaskQueueOptions,
  UnknownTaskError,
  WaitTimeoutError,
  type Worker,
} from "../mod.ts";
import {
  cleanup,
  completed,
  EMPTY_STATS,
  expectCompleted,
  type HeldTask,
  heldTask,
  ManualClock,
  newQueue,
  numberedArgs,
  rejectionOf,
  tempDbPath,
  thrownBy,
  waitUntil,
  whileRunning,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

/**
 * Defines the test "TaskQueue.<method>() throws TaskNotFoundError for an
 * unknown id": `call` with a fresh queue must reject with it.
 */
function testUnknownId(
  method: string,
  call: (queue: TaskQueue) => Promise<unknown>,
): void {
  test(`TaskQueue.${method}() throws TaskNotFoundError for an unknown id`, async () => {
    expect(await rejectionOf(call(newQueue()))).toBeInstanceOf(
      TaskNotFoundError,
    );
  });
}

/**
 * Starts `worker`, waits until its held task `id` has started and is stored
 * as running, and runs `body`; then releases the task and stops the worker,
 * however `body` ends.
 */
async function whileHeldRunning(
  queue: TaskQueue,
  worker: Worker,
  held: HeldTask<unknown>,
  id: TaskId,
  body: () => Promise<void>,
): Promise<void> {
  await whileRunning(worker, async () => {
    try {
      await held.started;
      await waitUntil(
        async () => (await queue.getResult(id)).status === "running",
        "the held task to be stored as running",
      );
      await body();
    } finally {
      held.release();
    }
  });
}

describe("new TaskQueue()", () => {
  test("new TaskQueue() rejects a missing backend with a TypeError that shows how to make one", () => {
    const error = thrownBy(() =>
      new TaskQueue(undefined as unknown as SQLiteBackend)
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("new SQLiteBackend(");
  });

  test("new TaskQueue() names an unknown option in its TypeError", () => {
    const backend = new SQLiteBackend(":memory:");
    const error = thrownBy(() =>
      new TaskQueue(backend, { serialiser: {} } as unknown as TaskQueueOptions)
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("'serialiser' is not an option");
  });

  test("TaskQueue closes its backend at the end of an await using scope", async () => {
    const backend = new SQLiteBackend(tempDbPath());
    {
      await using queue = new TaskQueue(backend);
      const task = queue.task("t", () => {});
      await queue.enqueue(task);
    }
    const error = await rejectionOf(backend.getTask(1));
    expect(error).toBeInstanceOf(SitqError);
    expect((error as SitqError).code).toBe("CLOSED");
  });
});

describe("TaskQueue.task()", () => {
  const noop = () => {};

  test("TaskQueue.task() returns a task carrying its name, handler and options", () => {
    const queue = newQueue();
    const handler = (a: number) => a;
    const task = queue.task("math.double", handler, {
      maxAttempts: 5,
      timeout: 1000,
    });
    expect(task.name).toBe("math.double");
    expect(task.handler).toBe(handler);
    expect(task.options).toEqual({ maxAttempts: 5, timeout: 1000 });
    expect(queue.tasks.map((t) => t.name)).toEqual(["math.double"]);
  });

  test("TaskQueue.task() rejects an empty or whitespace-only name with a RangeError", () => {
    const queue = newQueue();
    for (const name of ["", " ", "   ", "\t"]) {
      const error = thrownBy(() => queue.task(name, noop));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("name must be 1 to 200");
      expect((error as Error).message).toContain(JSON.stringify(name));
    }
    expect(queue.tasks).toEqual([]);
  });

  test("TaskQueue.task() rejects a name with leading or trailing spaces", () => {
    const queue = newQueue();
    for (const name of [" resize", "resize ", "\nresize"]) {
      expect(() => queue.task(name, noop)).toThrow(RangeError);
    }
    expect(queue.tasks).toEqual([]);
  });

  test("TaskQueue.task() rejects control characters inside a name", () => {
    const queue = newQueue();
    for (const name of ["a\nb", "a\u0000b", "a\u001fb", "a\u007fb"]) {
      const error = thrownBy(() => queue.task(name, noop));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("control characters");
    }
    expect(queue.tasks).toEqual([]);
  });

  test("TaskQueue.task() accepts a 200-character name and rejects a 201-character one", () => {
    const queue = newQueue();
    expect(queue.task("x".repeat(200), noop).name).toHaveLength(200);
    const error = thrownBy(() => queue.task("y".repeat(201), noop));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain("200 characters");
  });

  test("TaskQueue.task() rejects a non-string name with a TypeError", () => {
    const queue = newQueue();
    for (const name of [42, undefined, null, {}, Symbol("s")]) {
      const error = thrownBy(() => queue.task(name as unknown as string, noop));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("must be a string");
    }
  });

  test("TaskQueue.task() rejects a handler that is not a function", () => {
    const queue = newQueue();
    const error = thrownBy(() =>
      queue.task("bad", "not a function" as unknown as () => void)
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('task "bad"');
    expect((error as Error).message).toContain("must be a function");
  });

  test("TaskQueue.task() refuses a second handler under a taken name with DUPLICATE_TASK", () => {
    const queue = newQueue();
    const first = queue.task("send", () => 1);
    const error = thrownBy(() => queue.task("send", () => 2));
    expect(error).toBeInstanceOf(SitqError);
    expect((error as SitqError).code).toBe("DUPLICATE_TASK");
    expect((error as Error).message).toContain('"send"');
    // The first registration is untouched.
    expect(queue.tasks).toHaveLength(1);
    expect(queue.tasks[0]!.handler).toBe(first.handler);
  });

  test("TaskQueue.task() lets the same handler be registered twice under one name", () => {
    const queue = newQueue();
    const handler = () => 1;
    queue.task("same", handler);
    expect(queue.task("same", handler).name).toBe("same");
    expect(queue.tasks).toHaveLength(1);
  });

  test("TaskQueue.task() lets two queues use the same name independently", () => {
    const a = newQueue();
    const b = newQueue();
    a.task("shared", () => "a");
    expect(b.task("shared", () => "b").name).toBe("shared");
  });

  test("TaskQueue.task() rejects maxAttempts below 1 or not an integer", () => {
    const queue = newQueue();
    for (const maxAttempts of [0, -1, 1.5, Number.NaN, Infinity]) {
      const error = thrownBy(() => queue.task("t", noop, { maxAttempts }));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("'maxAttempts'");
    }
    expect(() =>
      queue.task("t", noop, { maxAttempts: "3" as unknown as number })
    )
      .toThrow(TypeError);
    expect(queue.tasks).toEqual([]);
  });

  test("TaskQueue.task() rejects a negative, zero or non-finite timeout", () => {
    const queue = newQueue();
    for (const timeout of [-1, 0, Infinity, Number.NaN]) {
      const error = thrownBy(() => queue.task("t", noop, { timeout }));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("'timeout'");
    }
  });

  test("TaskQueue.task() rejects a non-integer priority", () => {
    const queue = newQueue();
    expect(() => queue.task("t", noop, { priority: 1.5 })).toThrow(RangeError);
    expect(queue.task("t", noop, { priority: -5 }).options.priority).toBe(-5);
  });

  test("TaskQueue.task() names an unknown option key in its TypeError", () => {
    const queue = newQueue();
    const error = thrownBy(() =>
      queue.task("t", noop, { retries: 3 } as unknown as { maxAttempts: 3 })
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("'retries' is not an option");
    expect((error as Error).message).toContain("maxAttempts");
  });

  test("TaskQueue.task() rejects options that are not an object", () => {
    const queue = newQueue();
    for (const options of [null, 3, "fast", []]) {
      expect(() => queue.task("t", noop, options as unknown as object))
        .toThrow(TypeError);
    }
  });

  test("TaskQueue.task() rejects a backoff of unknown shape or with a negative delay", () => {
    const queue = newQueue();
    const typeErrors = [
      "fast",
      42,
      null,
      { type: "linear", delay: 100 },
      { delay: 100 },
    ];
    for (const backoff of typeErrors) {
      const error = thrownBy(() =>
        queue.task("t", noop, { backoff: backoff as never })
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("backoff");
    }
    const rangeErrors = [
      { type: "fixed", delay: -1 },
      { type: "fixed" },
      { type: "exponential", delay: Infinity },
      { type: "exponential", delay: 10, maxDelay: -5 },
    ];
    for (const backoff of rangeErrors) {
      const error = thrownBy(() =>
        queue.task("t", noop, { backoff: backoff as never })
      );
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toContain("backoff");
    }
    expect(queue.tasks).toEqual([]);
    // Valid shapes pass.
    queue.task("fixed", noop, { backoff: { type: "fixed", delay: 0 } });
    queue.task("fn", noop, { backoff: (attempt) => attempt * 10 });
    expect(queue.tasks).toHaveLength(2);
  });
});

describe("TaskQueue.enqueue()", () => {
  test("TaskQueue.enqueue() returns increasing numeric ids", async () => {
    const queue = newQueue();
    const add = queue.task("add", (a: number, b: number) => a + b);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await queue.enqueue(add, i, i));
    for (const id of ids) expect(Number.isSafeInteger(id)).toBe(true);
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
    }
    expect((await queue.stats()).queued).toBe(5);
  });

  test("TaskQueue.enqueue() stores the task's defaults: 3 attempts, priority 0, no timeout, due now", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const noop = queue.task("noop", () => {});
    const id = await queue.enqueue(noop);
    const record = await queue.getTask(id);
    expect(record.maxAttempts).toBe(3);
    expect(record.priority).toBe(0);
    expect(record.timeout).toBeUndefined();
    expect(record.runAt.getTime()).toBe(clock.now());
    expect(record.createdAt.getTime()).toBe(clock.now());
  });

  test("TaskQueue.enqueue() stores the options given to queue.task()", async () => {
    const queue = newQueue();
    const task = queue.task("defaults", () => {}, {
      maxAttempts: 7,
      timeout: 2500,
      priority: 4,
    });
    const record = await queue.getTask(await queue.enqueue(task));
    expect(record.maxAttempts).toBe(7);
    expect(record.timeout).toBe(2500);
    expect(record.priority).toBe(4);
  });

  test("TaskQueue.enqueue() stores task.with() options over the task's defaults", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const task = queue.task("opts", (s: string) => s, {
      maxAttempts: 2,
      timeout: 100,
      priority: 1,
    });
    const delayed = await queue.enqueue(
      task.with({ delay: 60_000, priority: 9, maxAttempts: 5, timeout: 700 }),
      "later",
    );
    const record = await queue.getTask(delayed);
    expect(record.runAt.getTime()).toBe(clock.now() + 60_000);
    expect(record.priority).toBe(9);
    expect(record.maxAttempts).toBe(5);
    expect(record.timeout).toBe(700);
    expect(record.args).toEqual(["later"]);

    const at = new Date(Date.UTC(2030, 5, 1, 12));
    const scheduled = await queue.getTask(
      await queue.enqueue(task.with({ runAt: at }), "at"),
    );
    expect(scheduled.runAt.getTime()).toBe(at.getTime());
    // Options not given in with() still come from the task.
    expect(scheduled.maxAttempts).toBe(2);
    expect(scheduled.timeout).toBe(100);
    expect(scheduled.priority).toBe(1);

    // with() returns a new task; the original keeps its defaults.
    const plain = await queue.getTask(await queue.enqueue(task, "now"));
    expect(plain.runAt.getTime()).toBe(clock.now());
    expect(plain.priority).toBe(1);
  });

  test("task.with() rejects delay and runAt together with a TypeError", async () => {
    const queue = newQueue();
    const task = queue.task("when", () => {});
    const error = thrownBy(() =>
      task.with({ delay: 1000, runAt: new Date(Date.now() + 1000) })
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("'delay' and 'runAt'");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("task.with() chained: a later runAt or delay replaces the earlier timing option", async () => {
    const queue = newQueue();
    const task = queue.task("when", () => {});
    const at = new Date(Date.UTC(2031, 0, 1));
    const byRunAt = await queue.enqueue(
      task.with({ delay: 1000 }).with({ runAt: at }),
    );
    expect((await queue.getTask(byRunAt)).runAt).toEqual(at);
    const before = Date.now();
    const byDelay = await queue.enqueue(
      task.with({ runAt: at }).with({ delay: 60_000 }),
    );
    const runAt = (await queue.getTask(byDelay)).runAt.getTime();
    expect(runAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(runAt).toBeLessThan(at.getTime());
  });

  test("task.with() rejects invalid run options with a message naming the option", () => {
    const queue = newQueue();
    const task = queue.task("opts", () => {});
    const cases: Array<[object, ErrorConstructor, string]> = [
      [{ delay: -1 }, RangeError, "'delay'"],
      [{ delay: "soon" }, TypeError, "'delay'"],
      [{ runAt: "tomorrow" }, TypeError, "'runAt'"],
      [{ runAt: new Date(Number.NaN) }, TypeError, "'runAt'"],
      [{ maxAttempts: 0 }, RangeError, "'maxAttempts'"],
      [{ timeout: -10 }, RangeError, "'timeout'"],
      [{ priority: 0.5 }, RangeError, "'priority'"],
      [{ retry: true }, TypeError, "'retry' is not an option"],
    ];
    for (const [options, type, text] of cases) {
      const error = thrownBy(() => task.with(options));
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toContain(text);
      expect((error as Error).message).toContain('task "opts"');
    }
  });

  test("TaskQueue.enqueue() refuses a task registered on another queue with UnknownTaskError", async () => {
    const queue = newQueue();
    const other = newQueue();
    const foreign = other.task("foreign", () => {});
    queue.task("local", () => {});
    const error = await rejectionOf(queue.enqueue(foreign));
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect((error as UnknownTaskError).code).toBe("UNKNOWN_TASK");
    expect((error as UnknownTaskError).taskName).toBe("foreign");
    expect((error as Error).message).toContain('queue.task("foreign"');
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("TaskQueue.enqueue() refuses something that is not a task with UnknownTaskError", async () => {
    const queue = newQueue();
    for (const task of [undefined, null, "noop", { name: "noop" }]) {
      const error = await rejectionOf(
        queue.enqueue(task as unknown as Task<[], void>),
      );
      expect(error).toBeInstanceOf(UnknownTaskError);
    }
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("TaskQueue.enqueue() stores nothing when an argument cannot be serialized", async () => {
    const queue = newQueue();
    const task = queue.task("cb", (_n: number, _o: { cb: () => void }) => {});
    const error = await rejectionOf(queue.enqueue(task, 1, { cb: () => {} }));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain('task "cb"');
    expect((error as Error).message).toContain("[1].cb");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });
});

describe("TaskQueue.enqueueMany()", () => {
  test("TaskQueue.enqueueMany() stores every argument list and returns ids in order", async () => {
    const queue = newQueue();
    const add = queue.task("add", (a: number, b: number) => a + b);
    const lists: Array<[number, number]> = [[1, 2], [3, 4], [5, 6], [7, 8]];
    const ids = await queue.enqueueMany(add, lists);
    expect(ids).toHaveLength(4);
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
    }
    for (const [index, id] of ids.entries()) {
      expect((await queue.getTask(id)).args).toEqual(lists[index]!);
    }
  });

  test("TaskQueue.enqueueMany() stores more rows than one INSERT chunk, all in order", async () => {
    const queue = newQueue();
    const task = queue.task("n", (n: number) => n);
    const lists = numberedArgs(1234);
    const ids = await queue.enqueueMany(task, lists);
    expect(ids).toHaveLength(1234);
    expect(new Set(ids).size).toBe(1234);
    expect((await queue.stats()).queued).toBe(1234);
    // Spot-check across chunk boundaries.
    for (const index of [0, 499, 500, 999, 1000, 1233]) {
      expect((await queue.getTask(ids[index]!)).args).toEqual([index]);
    }
  });

  test("TaskQueue.enqueueMany() stores nothing if one argument list cannot be serialized", async () => {
    const queue = newQueue();
    const task = queue.task("job", (_v: unknown) => {});
    const lists: unknown[][] = [[1], [2], [{ handler: () => {} }], [4]];
    const error = await rejectionOf(
      queue.enqueueMany(task, lists as [unknown][]),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain("list 2");
    expect((error as Error).message).toContain("[0].handler");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
    expect((await queue.listTasks()).tasks).toEqual([]);
  });

  test("TaskQueue.enqueueMany() stores nothing if one entry is not an argument list", async () => {
    const queue = newQueue();
    const task = queue.task("job", (_v: number) => {});
    const error = await rejectionOf(
      queue.enqueueMany(task, [[1], 2 as unknown as [number], [3]]),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("argument list 1");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("TaskQueue.enqueueMany() rejects an argsList that is not an array", async () => {
    const queue = newQueue();
    const task = queue.task("job", (_v: number) => {});
    const error = await rejectionOf(
      queue.enqueueMany(task, "1,2" as unknown as [number][]),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("TaskQueue.enqueueMany() with an empty list stores nothing and returns no ids", async () => {
    const queue = newQueue();
    const task = queue.task("job", () => {});
    expect(await queue.enqueueMany(task, [])).toEqual([]);
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("TaskQueue.enqueueMany() applies its options over task.with() options", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const task = queue.task("job", (_n: number) => {}, { maxAttempts: 4 });
    const ids = await queue.enqueueMany(
      task.with({ priority: 2, delay: 500 }),
      [[1], [2]],
      { priority: 8 },
    );
    for (const id of ids) {
      const record = await queue.getTask(id);
      expect(record.priority).toBe(8);
      expect(record.runAt.getTime()).toBe(clock.now() + 500);
      expect(record.maxAttempts).toBe(4);
    }
  });

  test("TaskQueue.enqueueMany() refuses an unregistered task with UnknownTaskError", async () => {
    const queue = newQueue();
    const foreign = newQueue().task("foreign", (_n: number) => {});
    const error = await rejectionOf(queue.enqueueMany(foreign, [[1], [2]]));
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });
});

describe("TaskQueue.getResult()", () => {
  test("TaskQueue.getResult() throws TaskNotFoundError for an unknown id", async () => {
    const queue = newQueue();
    const error = await rejectionOf(queue.getResult(999));
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as TaskNotFoundError).code).toBe("TASK_NOT_FOUND");
    expect((error as TaskNotFoundError).taskId).toBe(999);
    expect((error as Error).message).toContain("999");
  });

  test("TaskQueue.getResult() rejects an id that is not a positive integer", async () => {
    const queue = newQueue();
    expect(await rejectionOf(queue.getResult(0))).toBeInstanceOf(RangeError);
    expect(await rejectionOf(queue.getResult(-3))).toBeInstanceOf(RangeError);
    expect(await rejectionOf(queue.getResult(1.5))).toBeInstanceOf(RangeError);
    expect(await rejectionOf(queue.getResult("1" as unknown as number)))
      .toBeInstanceOf(TypeError);
  });

  test("TaskQueue.getResult() reports a queued task at once, without waiting for it", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const task = queue.task("later", () => "done");
    const id = await queue.enqueue(task.with({ delay: 5000 }));
    expect(await queue.getResult(id)).toEqual({
      status: "queued",
      attempts: 0,
      runAt: new Date(clock.now() + 5000),
    });
  });

  test("TaskQueue.getResult() tells a null result apart from an unfinished task", async () => {
    const queue = newQueue();
    const nothing = queue.task("nothing", () => null);
    const id = await queue.enqueue(nothing);
    const before = await queue.getResult(id);
    expect(before.status).toBe("queued");
    expect(await queue.worker().processOne()).toBe(true);
    const after = await queue.getResult(id);
    expect(after).toEqual({ status: "completed", value: null, attempts: 1 });
    if (after.status !== "completed") throw new Error("not completed");
    expect(after.value).toBeNull();
  });

  test("TaskQueue.getResult() returns an undefined result as a completed value", async () => {
    const queue = newQueue();
    const nothing = queue.task("void", () => undefined);
    const id = await queue.enqueue(nothing);
    await queue.worker().processOne();
    const result = await queue.getResult(id);
    expect(result.status).toBe("completed");
    if (result.status !== "completed") throw new Error("not completed");
    expect(result.value).toBeUndefined();
    expect(result.attempts).toBe(1);
  });

  test("TaskQueue.getResult() returns a completed value after a started worker ran the task", async () => {
    const queue = newQueue();
    const double = queue.task("double", (n: number) => ({ n, doubled: n * 2 }));
    const id = await queue.enqueue(double, 21);
    await whileRunning(
      queue.worker(),
      () => queue.waitForResult(id, { timeout: 10_000 }),
    );
    expect(await queue.getResult(id)).toEqual(
      completed({ n: 21, doubled: 42 }),
    );
  });

  test("TaskQueue.getResult() reports a running task with its worker", async () => {
    const queue = newQueue();
    const slow = heldTask(queue, "slow", "ok");
    const id = await queue.enqueue(slow.task);
    const worker = queue.worker({ workerId: "w-running" });
    await whileHeldRunning(queue, worker, slow, id, async () => {
      expect(await queue.getResult(id)).toEqual({
        status: "running",
        attempts: 1,
        workerId: "w-running",
      });
      slow.release();
      await expectCompleted(queue, id, "ok");
    });
  });

  test("TaskQueue.getResult() reports a failed task with its error and attempts", async () => {
    const queue = newQueue();
    const broken = queue.task("broken", () => {
      throw new TypeError("bad input");
    }, { maxAttempts: 1 });
    const id = await queue.enqueue(broken);
    await queue.worker().processOne();
    const result = await queue.getResult(id);
    expect(result.status).toBe("failed");
    if (result.status !== "failed") throw new Error("not failed");
    expect(result.attempts).toBe(1);
    expect(result.error.name).toBe("TypeError");
    expect(result.error.message).toBe("bad input");
  });

  test("TaskQueue.getResult() reports a task waiting to retry as queued with its last error", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const flaky = queue.task("flaky", () => {
      throw new Error("try again");
    }, { maxAttempts: 3, backoff: { type: "fixed", delay: 10_000 } });
    const id = await queue.enqueue(flaky);
    await queue.worker().processOne();
    const result = await queue.getResult(id);
    expect(result.status).toBe("queued");
    if (result.status !== "queued") throw new Error("not queued");
    expect(result.attempts).toBe(1);
    expect(result.runAt.getTime()).toBe(clock.now() + 10_000);
    expect(result.lastError?.message).toBe("try again");
  });
});

describe("TaskQueue.waitForResult()", () => {
  test("TaskQueue.waitForResult() resolves when a worker in this process completes the task", async () => {
    const queue = newQueue();
    const upper = queue.task("upper", (s: string) => s.toUpperCase());
    await whileRunning(queue.worker(), async () => {
      const id = await queue.enqueue(upper, "sitq");
      await expectCompleted(queue, id, "SITQ");
    });
  });

  test("TaskQueue.waitForResult() keeps waiting through a retry until the final attempt", async () => {
    const queue = newQueue();
    let calls = 0;
    const flaky = queue.task("flaky", () => {
      calls++;
      if (calls === 1) throw new Error("first attempt fails");
      return calls;
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(flaky);
    await whileRunning(
      queue.worker(),
      () => expectCompleted(queue, id, 2, { attempts: 2 }),
    );
  });

  test("TaskQueue.waitForResult() resolves with a failed result after the last attempt", async () => {
    const queue = newQueue();
    const broken = queue.task("broken", () => {
      throw new Error("always");
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(broken);
    await whileRunning(queue.worker(), async () => {
      const result = await queue.waitForResult(id, { timeout: 10_000 });
      expect(result.status).toBe("failed");
      expect(result.attempts).toBe(2);
    });
  });

  test("TaskQueue.waitForResult() throws WaitTimeoutError when no worker runs the task", async () => {
    const queue = newQueue();
    const orphan = queue.task("orphan", () => 1);
    const id = await queue.enqueue(orphan);
    const error = await rejectionOf(queue.waitForResult(id, { timeout: 50 }));
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).code).toBe("WAIT_TIMEOUT");
    expect((error as WaitTimeoutError).taskId).toBe(id);
    expect((error as Error).message).toContain("50 ms");
    // Giving up on the wait leaves the task alone.
    expect((await queue.getResult(id)).status).toBe("queued");
  });

  test("TaskQueue.waitForResult() rejects with the signal's reason when it aborts", async () => {
    const queue = newQueue();
    const orphan = queue.task("orphan", () => 1);
    const id = await queue.enqueue(orphan);
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    const waiting = rejectionOf(
      queue.waitForResult(id, { signal: controller.signal }),
    );
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    expect((await queue.getResult(id)).status).toBe("queued");
  });

  test("TaskQueue.waitForResult() rejects at once for an already aborted signal", async () => {
    const queue = newQueue();
    const orphan = queue.task("orphan", () => 1);
    const id = await queue.enqueue(orphan);
    const reason = new Error("already aborted");
    const error = await rejectionOf(
      queue.waitForResult(id, { signal: AbortSignal.abort(reason) }),
    );
    expect(error).toBe(reason);
  });

  test("TaskQueue.waitForResult() returns at once for a task that is already final", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => "v");
    const id = await queue.enqueue(task);
    await queue.worker().processOne();
    // No worker runs now; a hang here would hit the test's own timeout.
    expect(await queue.waitForResult(id)).toEqual(completed("v"));
  });

  test("TaskQueue.waitForResult() resolves with cancelled when the task is cancelled while waiting", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => "v");
    const id = await queue.enqueue(task.with({ delay: 3_600_000 }));
    const waiting = queue.waitForResult(id);
    await queue.cancel(id);
    expect(await waiting).toEqual({ status: "cancelled", attempts: 0 });
  });

  testUnknownId(
    "waitForResult",
    (queue) => queue.waitForResult(12345, { timeout: 1000 }),
  );

  test("TaskQueue.waitForResult() rejects invalid options", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => 1);
    const id = await queue.enqueue(task);
    expect(await rejectionOf(queue.waitForResult(id, { timeout: -1 })))
      .toBeInstanceOf(RangeError);
    expect(
      await rejectionOf(
        queue.waitForResult(id, { timeOut: 5 } as unknown as { timeout: 5 }),
      ),
    ).toBeInstanceOf(TypeError);
  });
});

describe("TaskQueue.getTask()", () => {
  test("TaskQueue.getTask() returns a fresh task's fields with its arguments deserialized", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const task = queue.task(
      "report",
      (_when: Date, _tags: Set<string>, _n: bigint) => {},
      { maxAttempts: 4, timeout: 900, priority: 2 },
    );
    const when = new Date(Date.UTC(2025, 1, 2));
    const id = await queue.enqueue(task, when, new Set(["a", "b"]), 10n);
    const record = await queue.getTask(id);
    expect(record.id).toBe(id);
    expect(record.name).toBe("report");
    expect(record.status).toBe("queued");
    expect(record.args).toHaveLength(3);
    expect(record.args[0]).toBeInstanceOf(Date);
    expect((record.args[0] as Date).getTime()).toBe(when.getTime());
    expect(record.args[1]).toBeInstanceOf(Set);
    expect([...(record.args[1] as Set<string>)]).toEqual(["a", "b"]);
    expect(record.args[2]).toBe(10n);
    expect(record.priority).toBe(2);
    expect(record.runAt).toEqual(new Date(clock.now()));
    expect(record.createdAt).toEqual(new Date(clock.now()));
    expect(record.attempts).toBe(0);
    expect(record.maxAttempts).toBe(4);
    expect(record.timeout).toBe(900);
    expect(record.startedAt).toBeUndefined();
    expect(record.finishedAt).toBeUndefined();
    expect(record.workerId).toBeUndefined();
    expect(record.leaseExpiresAt).toBeUndefined();
    expect(record.history).toEqual([]);
    expect(record.result).toEqual({
      status: "queued",
      attempts: 0,
      runAt: new Date(clock.now()),
    });
  });

  test("TaskQueue.getTask() shows the attempt history, timings and worker after a run", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    let calls = 0;
    const flaky = queue.task("flaky", (n: number) => {
      calls++;
      if (calls === 1) throw new RangeError(`attempt ${calls} failed`);
      return n + 1;
    }, { maxAttempts: 3, backoff: { type: "fixed", delay: 1000 } });
    const createdAt = clock.now();
    const id = await queue.enqueue(flaky, 41);
    const worker = queue.worker({ workerId: "w-history" });

    clock.advance(10);
    expect(await worker.processOne()).toBe(true);
    const firstFinished = clock.now();
    const afterFirst = await queue.getTask(id);
    expect(afterFirst.status).toBe("queued");
    expect(afterFirst.attempts).toBe(1);
    expect(afterFirst.runAt.getTime()).toBe(firstFinished + 1000);
    expect(afterFirst.history).toHaveLength(1);

    // Not due yet: nothing to claim until the backoff has passed.
    expect(await worker.processOne()).toBe(false);
    clock.advance(1000);
    expect(await worker.processOne()).toBe(true);

    const record = await queue.getTask(id);
    expect(record.status).toBe("completed");
    expect(record.attempts).toBe(2);
    expect(record.createdAt.getTime()).toBe(createdAt);
    expect(record.startedAt?.getTime()).toBe(clock.now());
    expect(record.finishedAt?.getTime()).toBe(clock.now());
    expect(record.workerId).toBe("w-history");
    expect(record.leaseExpiresAt).toBeUndefined();
    expect(record.result).toEqual(completed(42, 2));
    expect(record.history).toHaveLength(2);
    const [first, second] = record.history;
    expect(first!.attempt).toBe(1);
    expect(first!.outcome).toBe("failed");
    expect(first!.workerId).toBe("w-history");
    expect(first!.startedAt.getTime()).toBe(createdAt + 10);
    expect(first!.finishedAt.getTime()).toBe(createdAt + 10);
    expect(first!.error?.name).toBe("RangeError");
    expect(first!.error?.message).toBe("attempt 1 failed");
    expect(second!.attempt).toBe(2);
    expect(second!.outcome).toBe("completed");
    expect(second!.error).toBeUndefined();
    expect(second!.startedAt.getTime()).toBe(createdAt + 1010);
  });

  testUnknownId("getTask", (queue) => queue.getTask(77));
});

describe("TaskQueue.listTasks()", () => {
  test("TaskQueue.listTasks() pages through 25 tasks, 10 at a time, newest first without duplicates", async () => {
    const queue = newQueue();
    const task = queue.task("n", (n: number) => n);
    const ids = await queue.enqueueMany(task, numberedArgs(25));
    const pages: number[][] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.listTasks({ limit: 10, cursor });
      pages.push(page.tasks.map((record) => record.id));
      cursor = page.nextCursor;
      expect(pages.length).toBeLessThanOrEqual(3);
    } while (cursor !== undefined);
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    const seen = pages.flat();
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...ids].reverse());
  });

  test("TaskQueue.listTasks() returns records with deserialized arguments", async () => {
    const queue = newQueue();
    const task = queue.task("m", (_m: Map<string, number>) => {});
    await queue.enqueue(task, new Map([["k", 1]]));
    const [record] = (await queue.listTasks()).tasks;
    expect(record!.args[0]).toBeInstanceOf(Map);
    expect((record!.args[0] as Map<string, number>).get("k")).toBe(1);
    expect(record!.history).toEqual([]);
  });

  test("TaskQueue.listTasks() returns at most 100 tasks when no limit is given", async () => {
    const queue = newQueue();
    const task = queue.task("n", (n: number) => n);
    const ids = await queue.enqueueMany(task, numberedArgs(101));
    const page = await queue.listTasks();
    expect(page.tasks).toHaveLength(100);
    expect(page.tasks[0]!.id).toBe(ids[100]!);
    expect(page.nextCursor).toBeDefined();
    const rest = await queue.listTasks({ cursor: page.nextCursor });
    expect(rest.tasks.map((record) => record.id)).toEqual([ids[0]!]);
    expect(rest.nextCursor).toBeUndefined();
  });

  test("TaskQueue.listTasks() gives no nextCursor when the last page is exactly full", async () => {
    const queue = newQueue();
    const task = queue.task("n", (n: number) => n);
    await queue.enqueueMany(task, [[1], [2], [3], [4], [5]]);
    const page = await queue.listTasks({ limit: 5 });
    expect(page.tasks).toHaveLength(5);
    expect(page.nextCursor).toBeUndefined();
  });

  test("TaskQueue.listTasks() filters by one status, several statuses and name", async () => {
    const queue = newQueue();
    const a = queue.task("a", () => {});
    const b = queue.task("b", () => {});
    const a1 = await queue.enqueue(a);
    const a2 = await queue.enqueue(a);
    const b1 = await queue.enqueue(b);
    const b2 = await queue.enqueue(b);
    await queue.cancel(a2);
    await queue.cancel(b2);

    const ids = async (options: Parameters<TaskQueue["listTasks"]>[0]) =>
      (await queue.listTasks(options)).tasks.map((record) => record.id);
    expect(await ids({ status: "cancelled" })).toEqual([b2, a2]);
    expect(await ids({ status: "queued" })).toEqual([b1, a1]);
    expect(await ids({ status: ["queued", "cancelled"] })).toEqual([
      b2,
      b1,
      a2,
      a1,
    ]);
    expect(await ids({ name: "a" })).toEqual([a2, a1]);
    expect(await ids({ name: "b", status: "queued" })).toEqual([b1]);
    expect(await ids({ status: "failed" })).toEqual([]);
    expect(await ids({ name: "nope" })).toEqual([]);
  });

  test("TaskQueue.listTasks() rejects an unknown status with a RangeError listing the valid ones", async () => {
    const queue = newQueue();
    const error = await rejectionOf(
      queue.listTasks({ status: "done" as unknown as "completed" }),
    );
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain('"done"');
    expect((error as Error).message).toContain("queued, running, completed");
    expect(
      await rejectionOf(
        queue.listTasks({ status: ["queued", "later" as unknown as "queued"] }),
      ),
    ).toBeInstanceOf(RangeError);
  });

  test("TaskQueue.listTasks() rejects a cursor it did not make with a TypeError", async () => {
    const queue = newQueue();
    for (const cursor of ["abc", "0", "-4", "1.5", ""]) {
      const error = await rejectionOf(queue.listTasks({ cursor }));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("'cursor'");
    }
  });

  test("TaskQueue.listTasks() rejects a bad limit or an unknown option", async () => {
    const queue = newQueue();
    expect(await rejectionOf(queue.listTasks({ limit: 0 }))).toBeInstanceOf(
      RangeError,
    );
    expect(await rejectionOf(queue.listTasks({ limit: 2.5 }))).toBeInstanceOf(
      RangeError,
    );
    expect(
      await rejectionOf(
        queue.listTasks({ statuses: ["queued"] } as unknown as { name: "x" }),
      ),
    ).toBeInstanceOf(TypeError);
  });
});

describe("TaskQueue.stats()", () => {
  test("TaskQueue.stats() reports all six statuses with zeros on an empty queue", async () => {
    const queue = newQueue();
    const stats = await queue.stats();
    expect(stats).toEqual(EMPTY_STATS);
    expect(Object.keys(stats).sort()).toEqual(
      ["cancelled", "completed", "failed", "queued", "running", "waiting"],
    );
  });

  test("TaskQueue.stats() counts tasks in each status", async () => {
    const queue = newQueue();
    const ok = queue.task("ok", () => 1);
    const bad = queue.task("bad", () => {
      throw new Error("no");
    }, { maxAttempts: 1 });
    const slow = heldTask(queue, "slow", undefined);
    await queue.enqueue(ok);
    await queue.enqueue(bad);
    await queue.cancel(await queue.enqueue(ok.with({ delay: 60_000 })));
    await queue.enqueue(ok.with({ delay: 60_000 }));
    await queue.enqueue(ok.with({ delay: 60_000 }));
    const okWorker = queue.worker({ tasks: [ok, bad] });
    expect(await okWorker.processOne()).toBe(true);
    expect(await okWorker.processOne()).toBe(true);

    const slowId = await queue.enqueue(slow.task);
    const slowWorker = queue.worker({ tasks: [slow.task] });
    await whileHeldRunning(queue, slowWorker, slow, slowId, async () => {
      expect(await queue.stats()).toEqual({
        waiting: 0,
        queued: 2,
        running: 1,
        completed: 1,
        failed: 1,
        cancelled: 1,
      });
    });
  });
});

describe("TaskQueue.cancel()", () => {
  test("TaskQueue.cancel() cancels a queued task so no worker runs it", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    let ran = false;
    const task = queue.task("t", () => {
      ran = true;
    });
    const id = await queue.enqueue(task);
    clock.advance(5);
    await queue.cancel(id);
    expect(await queue.getResult(id)).toEqual({
      status: "cancelled",
      attempts: 0,
    });
    expect((await queue.getTask(id)).finishedAt?.getTime()).toBe(clock.now());
    expect(await queue.worker().processOne()).toBe(false);
    expect(ran).toBe(false);
  });

  test("TaskQueue.cancel() on an already cancelled task does nothing", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => {});
    const id = await queue.enqueue(task);
    await queue.cancel(id);
    const before = await queue.getTask(id);
    await queue.cancel(id);
    expect(await queue.getTask(id)).toEqual(before);
  });

  test("TaskQueue.cancel() cancels a running task: its signal aborts with CancelledError and its late result is ignored", async () => {
    const queue = newQueue();
    const slow = heldTask(queue, "slow", "finished");
    const id = await queue.enqueue(slow.task);
    await whileHeldRunning(queue, queue.worker(), slow, id, async () => {
      await queue.cancel(id);
      expect((await queue.getResult(id)).status).toBe("cancelled");
      const reason = await slow.abortReason;
      expect(reason).toBeInstanceOf(CancelledError);
      expect((reason as CancelledError).code).toBe("CANCELLED");
      slow.release();
      await slow.returned;
    });
    expect(await queue.getResult(id)).toEqual({
      status: "cancelled",
      attempts: 1,
    });
  });

  test("TaskQueue.cancel() refuses a completed or failed task with InvalidStateError", async () => {
    const queue = newQueue();
    const ok = queue.task("ok", () => 1);
    const bad = queue.task("bad", () => {
      throw new Error("x");
    }, { maxAttempts: 1 });
    const okId = await queue.enqueue(ok);
    const badId = await queue.enqueue(bad);
    const worker = queue.worker();
    await worker.processOne();
    await worker.processOne();
    for (
      const [id, status] of [[okId, "completed"], [badId, "failed"]] as const
    ) {
      const error = await rejectionOf(queue.cancel(id));
      expect(error).toBeInstanceOf(InvalidStateError);
      expect((error as Error).message).toContain(status);
      expect((await queue.getResult(id)).status).toBe(status);
    }
  });

  testUnknownId("cancel", (queue) => queue.cancel(404));
});

describe("TaskQueue.requeue()", () => {
  test("TaskQueue.requeue() puts a failed task back, due now, with attempts 0 and its history kept", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    let fail = true;
    const task = queue.task("t", () => {
      if (fail) throw new Error("down");
      return "up";
    }, { maxAttempts: 1 });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    await worker.processOne();
    expect((await queue.getResult(id)).status).toBe("failed");

    clock.advance(1000);
    await queue.requeue(id);
    const record = await queue.getTask(id);
    expect(record.status).toBe("queued");
    expect(record.attempts).toBe(0);
    expect(record.runAt.getTime()).toBe(clock.now());
    expect(record.finishedAt).toBeUndefined();
    expect(record.result).toEqual({
      status: "queued",
      attempts: 0,
      runAt: new Date(clock.now()),
    });
    expect(record.history).toHaveLength(1);

    fail = false;
    expect(await worker.processOne()).toBe(true);
    expect(await queue.getResult(id)).toEqual(completed("up"));
  });

  test("TaskQueue.requeue() puts a cancelled task back in the queue", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => "ran");
    const id = await queue.enqueue(task);
    await queue.cancel(id);
    await queue.requeue(id);
    expect((await queue.getResult(id)).status).toBe("queued");
    expect(await queue.worker().processOne()).toBe(true);
    expect((await queue.getResult(id)).status).toBe("completed");
  });

  test("TaskQueue.requeue() refuses a completed or queued task with InvalidStateError", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => 1);
    const done = await queue.enqueue(task);
    await queue.worker().processOne();
    const waiting = await queue.enqueue(task);
    for (
      const [id, status] of [[done, "completed"], [waiting, "queued"]] as const
    ) {
      const error = await rejectionOf(queue.requeue(id));
      expect(error).toBeInstanceOf(InvalidStateError);
      expect((error as Error).message).toContain(status);
      expect((await queue.getResult(id)).status).toBe(status);
    }
    expect((await queue.getResult(done)).attempts).toBe(1);
  });

  testUnknownId("requeue", (queue) => queue.requeue(31337));
});

describe("TaskQueue.prune()", () => {
  /** Counts history rows of `ids` straight from the file. */
  function historyRows(path: string, ids: readonly number[]): number {
    const placeholders = ids.map(() => "?").join(", ");
    return withRaw(
      path,
      (db) =>
        (db.query(
          `select count(*) as n from sitq_attempts where task_id in (${placeholders})`,
        ).get(...ids) as { n: number }).n,
      { readonly: true },
    );
  }

  /**
   * A queue on a ManualClock with task "ok" and task "bad" (fails its only
   * attempt), and one run of each, `done` and `failed`, finished at t0.
   */
  async function queueWithFinishedTasks() {
    const clock = new ManualClock();
    const path = tempDbPath();
    const queue = newQueue({ clock }, path);
    const ok = queue.task("ok", () => "ok");
    const bad = queue.task("bad", () => {
      throw new Error("bad");
    }, { maxAttempts: 1 });
    const worker = queue.worker();
    const done = await queue.enqueue(ok);
    await worker.processOne();
    const failed = await queue.enqueue(bad);
    await worker.processOne();
    return { clock, path, queue, ok, worker, done, failed };
  }

  test("TaskQueue.prune() deletes only completed and cancelled tasks older than the cutoff by default", async () => {
    // Finished at t0.
    const {
      clock,
      path,
      queue,
      ok,
      worker,
      done: oldDone,
      failed: oldFailed,
    } = await queueWithFinishedTasks();
    const oldCancelled = await queue.enqueue(ok.with({ delay: 60_000 }));
    await queue.cancel(oldCancelled);
    // Never finished.
    const stillQueued = await queue.enqueue(ok.with({ delay: 86_400_000 }));

    clock.advance(60 * 60_000);
    // Finished at t0 + 1h.
    const newDone = await queue.enqueue(ok);
    await worker.processOne();
    const newCancelled = await queue.enqueue(ok.with({ delay: 60_000 }));
    await queue.cancel(newCancelled);

    clock.advance(10 * 60_000);
    // A completion writes no history row (its task row describes it); the
    // failure's row must outlive the prune.
    expect(historyRows(path, [oldDone, oldFailed, newDone])).toBe(1);
    // Finished more than 30 minutes ago: only the t0 ones.
    expect(await queue.prune({ olderThan: 30 * 60_000 })).toBe(2);

    for (const id of [oldDone, oldCancelled]) {
      expect(await rejectionOf(queue.getTask(id))).toBeInstanceOf(
        TaskNotFoundError,
      );
    }
    expect((await queue.getResult(oldFailed)).status).toBe("failed");
    expect((await queue.getResult(stillQueued)).status).toBe("queued");
    expect((await queue.getResult(newDone)).status).toBe("completed");
    expect((await queue.getResult(newCancelled)).status).toBe("cancelled");
    expect(historyRows(path, [oldFailed])).toBe(1);
    expect(await queue.stats()).toEqual({
      waiting: 0,
      queued: 1,
      running: 0,
      completed: 1,
      failed: 1,
      cancelled: 1,
    });
  });

  test("TaskQueue.prune() deletes failed tasks and their history when asked for them", async () => {
    const { clock, path, queue, done, failed } = await queueWithFinishedTasks();
    expect(historyRows(path, [failed])).toBe(1);

    clock.advance(1000);
    expect(await queue.prune({ olderThan: 500, statuses: ["failed"] })).toBe(1);
    expect(await rejectionOf(queue.getTask(failed))).toBeInstanceOf(
      TaskNotFoundError,
    );
    expect(historyRows(path, [failed])).toBe(0);
    expect((await queue.getResult(done)).status).toBe("completed");
  });

  test("TaskQueue.prune() keeps a task that finished exactly at the cutoff", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const ok = queue.task("ok", () => "ok");
    const id = await queue.enqueue(ok);
    await queue.worker().processOne();
    clock.advance(1000);
    expect(await queue.prune({ olderThan: 1000 })).toBe(0);
    expect((await queue.getResult(id)).status).toBe("completed");
    clock.advance(1);
    expect(await queue.prune({ olderThan: 1000 })).toBe(1);
  });

  test("TaskQueue.prune() accepts a Date as the cutoff", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const ok = queue.task("ok", () => "ok");
    const finishedAt = clock.now();
    await queue.cancel(await queue.enqueue(ok));
    expect(await queue.prune({ olderThan: new Date(finishedAt) })).toBe(0);
    expect(await queue.prune({ olderThan: new Date(finishedAt + 1) })).toBe(1);
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("TaskQueue.prune() returns 0 and changes nothing when nothing is old enough", async () => {
    const clock = new ManualClock();
    const queue = newQueue({ clock });
    const ok = queue.task("ok", () => "ok");
    await queue.enqueue(ok);
    await queue.worker().processOne();
    expect(await queue.prune({ olderThan: 60_000 })).toBe(0);
    expect((await queue.stats()).completed).toBe(1);
  });

  test("TaskQueue.prune() rejects unfinished statuses and bad cutoffs", async () => {
    const queue = newQueue();
    const cases: Array<[unknown, ErrorConstructor]> = [
      [{ olderThan: 0, statuses: ["queued"] }, RangeError],
      [{ olderThan: 0, statuses: ["running"] }, RangeError],
      [{ olderThan: -1 }, RangeError],
      [{ olderThan: new Date(Number.NaN) }, TypeError],
      [{ olderThan: "1d" }, TypeError],
      [{}, TypeError],
      [{ olderThan: 0, status: ["failed"] }, TypeError],
    ];
    for (const [options, type] of cases) {
      const error = await rejectionOf(
        queue.prune(options as Parameters<TaskQueue["prune"]>[0]),
      );
      expect(error).toBeInstanceOf(type);
    }
  });
});
