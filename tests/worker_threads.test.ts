/**
 * Thread tasks on Bun, in process, through the public API: what crosses the
 * thread boundary (arguments, results, errors, progress, the context), the
 * serializer rule, the checks of `threadModule()` and `threads`, binding to
 * a declaration, a direct call, a lost lease terminating its thread, and
 * Bun's warning about `resourceLimits`. Every runtime's core behaviours
 * (parallel runs, timeouts, memory limits, crashes, stop) are in
 * worker_threads_runtimes.test.ts.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  declareTask,
  type LogData,
  type Logger,
  SerializationError,
  SQLiteBackend,
  type TaskContext,
  type TaskId,
  TaskQueue,
  threadModule,
  type Worker,
} from "../mod.ts";
import type { FencingToken as BackendToken } from "../backend.ts";
import {
  cleanup,
  closeLater,
  newQueue,
  rejectionOf,
  ROOT,
  tempDbPath,
  tempDir,
  thrownBy,
  waitUntil,
} from "./helpers.ts";
import { track } from "./worker_helpers.ts";

afterAll(cleanup);

type Handlers = typeof import("./fixtures/thread_handlers.mjs");
const HANDLERS = new URL("./fixtures/thread_handlers.mjs", import.meta.url);
const handlers = threadModule<Handlers>(HANDLERS);
const WAIT = { timeout: 30_000 };
// A hang guard, not a measure: these tests start and terminate threads,
// which on a loaded machine takes longer than bun's default 5 s per test
// (a lost-lease run once needed more), while each wait allows 30 s.
setDefaultTimeout(60_000);

/** A worker of `queue` with one thread, stopped by `cleanup()`. */
function threadWorker(queue: TaskQueue): Worker {
  return track(queue.worker({ threads: { size: 1 } }));
}

function lines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((line) => line);
  } catch {
    return [];
  }
}

describe("what crosses the thread boundary", () => {
  test("arguments and results go through the serializer: a Map, a Date and a bigint come back as they went", async () => {
    const queue = newQueue();
    const echo = queue.task("echo", handlers.handler("echo"));
    const worker = threadWorker(queue);
    await worker.start();
    const args = [new Map([["at", new Date(0)]]), 2n ** 70n, undefined];
    const id = await queue.enqueue(echo, ...args);
    expect(await queue.waitForResult(id, WAIT)).toEqual({
      status: "completed",
      value: args,
      attempts: 1,
    });
  });

  test("the completed event carries the value the thread returned", async () => {
    const queue = newQueue();
    const echo = queue.task("echo", handlers.handler("echo"));
    const worker = threadWorker(queue);
    const values: unknown[] = [];
    worker.on("completed", ({ value }) => values.push(value));
    await queue.enqueue(echo, new Set([1, 2]));
    expect(await worker.processOne()).toBe(true);
    expect(values).toEqual([[new Set([1, 2])]]);
  });

  test("an error thrown in the thread is stored with its name, message, code and stack, and retried", async () => {
    const queue = newQueue();
    const fail = queue.task("fail", handlers.handler("fail"), {
      maxAttempts: 2,
      backoff: { type: "fixed", delay: 0 },
    });
    const worker = threadWorker(queue);
    await worker.start();
    const id = await queue.enqueue(fail, "RangeError", "too far", "E_FAR");
    const result = await queue.waitForResult(id, WAIT);
    expect(result.status).toBe("failed");
    if (result.status !== "failed") return;
    expect(result.attempts).toBe(2);
    expect(result.error).toMatchObject({
      name: "RangeError",
      message: "too far",
      code: "E_FAR",
    });
    expect(result.error.stack).toContain("thread_handlers.mjs");
  });

  test("a PermanentError thrown in the thread (by name and code, from any copy of sitq) is not retried", async () => {
    const queue = newQueue();
    const refuse = queue.task("refuse", handlers.handler("refuse"), {
      maxAttempts: 3,
    });
    const worker = threadWorker(queue);
    await worker.start();
    const id = await queue.enqueue(refuse, "bad input");
    expect(await queue.waitForResult(id, WAIT)).toMatchObject({
      status: "failed",
      attempts: 1,
      error: {
        name: "PermanentError",
        message: "bad input",
        code: "PERMANENT",
      },
    });
  });

  test("a result the serializer refuses fails the task for good, as on the event loop", async () => {
    const queue = newQueue();
    const unstorable = queue.task("unstorable", handlers.handler("unstorable"));
    const worker = threadWorker(queue);
    await worker.start();
    const id = await queue.enqueue(unstorable);
    const result = await queue.waitForResult(id, WAIT);
    expect(result).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { name: "PermanentError" },
    });
    if (result.status === "failed") {
      expect(result.error.message).toContain(
        'Cannot serialize the result of task "unstorable"',
      );
    }
  });

  test("progress is stored and awaited; a progress value the serializer refuses throws in the handler", async () => {
    const queue = newQueue();
    const progress = queue.task("progress", handlers.handler("progress"));
    const worker = threadWorker(queue);
    await worker.start();
    const id = await queue.enqueue(progress, [{ step: 1 }, { step: 2 }]);
    expect((await queue.waitForResult(id, WAIT)).status).toBe("completed");
    expect((await queue.getTask(id)).progress).toEqual({ step: 2 });

    const badProgress = queue.task(
      "badProgress",
      handlers.handler("badProgress"),
      { maxAttempts: 1 },
    );
    await worker.stop();
    await worker.start();
    const bad = await queue.enqueue(badProgress);
    const result = await queue.waitForResult(bad, WAIT);
    expect(result).toMatchObject({
      status: "failed",
      error: { name: "SerializationError" },
    });
    if (result.status === "failed") {
      expect(result.error.message).toContain(
        `Cannot serialize the progress of task ${bad}`,
      );
    }
  });
});

describe("handler modules", () => {
  test("a missing export, or one that is not a function, fails the attempt saying so", async () => {
    const queue = newQueue();
    const notFunction = queue.task(
      "notAFunction",
      // A cast: the type of the module already refuses it.
      handlers.handler("notAFunction" as "echo"),
      { maxAttempts: 1 },
    );
    const missing = queue.task(
      "missing",
      handlers.handler("missing" as "echo"),
      { maxAttempts: 1 },
    );
    const worker = threadWorker(queue);
    await worker.start();
    const first = await queue.waitForResult(
      await queue.enqueue(notFunction),
      WAIT,
    );
    const second = await queue.waitForResult(
      await queue.enqueue(missing),
      WAIT,
    );
    expect(first.status === "failed" && first.error.message).toBe(
      `Cannot run export "notAFunction" of module ${HANDLERS.href} as a task handler: it is number, not a function`,
    );
    expect(second.status === "failed" && second.error.message).toBe(
      `Cannot run export "missing" of module ${HANDLERS.href} as a task handler: the module has no such export`,
    );
  });

  test("a module that cannot be loaded fails the attempt naming it", async () => {
    const queue = newQueue();
    const gone = threadModule<{ run(): void }>(join(tempDir(), "gone.mjs"));
    const task = queue.task("gone", gone.handler("run"), { maxAttempts: 1 });
    const worker = threadWorker(queue);
    await worker.start();
    const result = await queue.waitForResult(await queue.enqueue(task), WAIT);
    expect(result.status === "failed" && result.error.message).toStartWith(
      `Cannot load the handler module ${gone.url} in a worker thread: `,
    );
  });

  test("called directly, a thread handler runs its export in the calling thread", async () => {
    const echo = handlers.handler("echo");
    const context = {} as TaskContext;
    expect(await echo.call(context, 1, "two")).toEqual([1, "two"]);
    expect(echo.source).toEqual({ module: HANDLERS.href, export: "echo" });
    expect(handlers.handler("echo")).toBe(echo);
  });

  test("a thread handler binds to a declaration, and producers enqueue the declaration", async () => {
    const echo = declareTask<[label: string], unknown[]>("echo");
    const producer = newQueue();
    producer.declare(echo);
    const queue = closeLater(new TaskQueue(producer.backend));
    const bound = queue.task(echo, handlers.handler("echo"));
    expect(bound.handler).toBe(handlers.handler("echo"));
    const id = await producer.enqueue(echo, "declared");
    const worker = threadWorker(queue);
    await worker.start();
    expect(await producer.waitForResult(id, WAIT)).toMatchObject({
      status: "completed",
      value: ["declared"],
    });
  });
});

describe("the serializer in the threads", () => {
  const json = {
    serialize: (value: unknown) => JSON.stringify(value),
    deserialize: (text: string) => JSON.parse(text) as unknown,
  };

  test("a worker with a serializer other than SuperJsonSerializer needs threads.serializer for thread tasks", () => {
    const queue = newQueue({ serializer: json });
    queue.task("echo", handlers.handler("echo"));
    const error = thrownBy(() => queue.worker()) as TypeError;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(
      `Cannot create Worker as task "echo" runs in a worker thread, which cannot use the worker's serializer object: give 'threads.serializer', the URL of a module whose default export is the same serializer`,
    );
  });

  test("with threads.serializer, the threads read and write the worker's format; a handler that returns nothing completes with undefined", async () => {
    const queue = newQueue({ serializer: json });
    const echo = queue.task("echo", handlers.handler("echo"));
    const nothing = queue.task("nothing", handlers.handler("nothing"));
    const worker = track(queue.worker({
      threads: {
        size: 1,
        serializer: join(ROOT, "tests/fixtures/json_serializer.mjs"),
      },
    }));
    await worker.start();
    const id = await queue.enqueue(echo, { a: 1 }, "b");
    expect(await queue.waitForResult(id, WAIT)).toMatchObject({
      status: "completed",
      value: [{ a: 1 }, "b"],
    });
    // JSON.stringify(undefined) is no string: undefined is stored as NULL.
    const none = await queue.enqueue(nothing);
    expect(await queue.waitForResult(none, WAIT)).toEqual({
      status: "completed",
      value: undefined,
      attempts: 1,
    });
  });

  test("a serializer module without a serializer as its default export fails the attempt saying so", async () => {
    const queue = newQueue();
    const echo = queue.task("echo", handlers.handler("echo"), {
      maxAttempts: 1,
    });
    const worker = track(queue.worker({
      threads: { size: 1, serializer: HANDLERS },
    }));
    await worker.start();
    const result = await queue.waitForResult(await queue.enqueue(echo), WAIT);
    expect(result.status === "failed" && result.error.message).toContain(
      `Cannot use the default export of ${HANDLERS.href} as the threads' serializer`,
    );
  });
});

describe("checks", () => {
  test("threadModule() refuses a relative path and a handler without a name", () => {
    const relative = thrownBy(() => threadModule("./hash.ts")) as TypeError;
    expect(relative).toBeInstanceOf(TypeError);
    expect(relative.message).toBe(
      `Cannot name a thread module as it must be a URL or an absolute path, e.g. new URL("./hash.ts", import.meta.url): current value is "./hash.ts" (a relative path has no base a thread could resolve it against)`,
    );
    expect(threadModule("/srv/app/hash.ts").url).toBe(
      pathToFileURL("/srv/app/hash.ts").href,
    );
    const unnamed = thrownBy(() => handlers.handler("" as never)) as TypeError;
    expect(unnamed.message).toBe(
      `Cannot make a thread handler of module ${HANDLERS.href} as the export's name must be a non-empty string: current value is ""`,
    );
  });

  test.each([
    [
      { size: 0 },
      "Cannot create Worker as 'threads.size' must be an integer >= 1: current value is 0",
    ],
    [
      { sise: 2 },
      "Cannot create Worker with 'threads' as 'sise' is not an option; known options are size, resourceLimits, serializer",
    ],
    [
      { resourceLimits: { maxOldGenerationSizeMb: -1 } },
      "Cannot create Worker as 'threads.resourceLimits.maxOldGenerationSizeMb' must be a positive number of megabytes: current value is -1",
    ],
    [
      { resourceLimits: { heapMb: 1 } },
      "Cannot create Worker with 'threads.resourceLimits' as 'heapMb' is not an option; known options are maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb",
    ],
    [
      { serializer: "./serializer.ts" },
      `Cannot create Worker as 'threads.serializer' must be the URL or absolute path of a module whose default export is the serializer, e.g. new URL("./serializer.ts", import.meta.url): current value is "./serializer.ts"`,
    ],
    [
      "two",
      `Cannot create Worker with 'threads' as the options must be an object: current value is "two"`,
    ],
  ])("threads: %j is refused", (threads, message) => {
    const queue = newQueue();
    queue.task("echo", handlers.handler("echo"));
    const error = thrownBy(() =>
      queue.worker({ threads: threads as never })
    ) as Error;
    expect(error.message).toBe(message);
  });

  test("on Bun, resourceLimits are not enforced, and the worker says so once", async () => {
    const queue = newQueue();
    queue.task("echo", handlers.handler("echo"));
    const warnings: string[] = [];
    const logger: Logger = {
      warn: (_data: LogData, message: string) => warnings.push(message),
    };
    const worker = track(queue.worker({
      logger,
      threads: { resourceLimits: { maxOldGenerationSizeMb: 64 } },
    }));
    await worker.start(); // reads its tasks again: no second warning
    await worker.stop();
    expect(warnings).toEqual([
      "threads.resourceLimits is not enforced on Bun: its worker threads have no memory limit",
    ]);
  });
});

/** A backend that refuses to renew the leases of the ids in `lose`. */
class LeaseLosingBackend extends SQLiteBackend {
  readonly lose = new Set<number>();

  override async renewLeases(
    tokens: readonly BackendToken[],
    leaseExpiresAt: number,
  ): Promise<Set<number>> {
    const renewed = await super.renewLeases(tokens, leaseExpiresAt);
    for (const id of this.lose) renewed.delete(id);
    return renewed;
  }
}

test("a lost lease terminates the attempt's thread: it writes nothing more, and no outcome is stored", async () => {
  const backend = new LeaseLosingBackend(tempDbPath());
  const queue = closeLater(new TaskQueue(backend));
  const tick = queue.task("tick", handlers.handler("tick"));
  const echo = queue.task("echo", handlers.handler("echo"));
  const log = join(tempDir(), "tick.log");
  const worker = track(queue.worker({
    tasks: [tick],
    threads: { size: 1 },
    heartbeatInterval: 20,
  }));
  const lost: string[] = [];
  worker.on("error", ({ error }) => lost.push(error.name));
  await worker.start();
  const id: TaskId = await queue.enqueue(tick, log);
  await waitUntil(() => lines(log).length > 10, "the handler ticks");
  backend.lose.add(id);
  await waitUntil(() => lost.includes("LeaseLostError"), "the lease is lost");
  // stop() resolves once the threads it terminated have exited.
  await worker.stop();
  const sizeAfter = lines(log).length;
  const next = track(queue.worker({ tasks: [echo], threads: { size: 1 } }));
  await next.start();
  await queue.waitForResult(await queue.enqueue(echo, "after"), WAIT);
  expect(lines(log).length).toBe(sizeAfter);
  // Nothing of the dropped attempt was written: the task still runs, under
  // its lease, for recovery to find once it expires.
  expect((await queue.getTask(id)).status).toBe("running");
});

test("rejects a thread task's enqueue with arguments the serializer refuses, before any thread starts", async () => {
  const queue = newQueue();
  const echo = queue.task("echo", handlers.handler("echo"));
  const error = await rejectionOf(queue.enqueue(echo, () => {}));
  expect(error).toBeInstanceOf(SerializationError);
});
