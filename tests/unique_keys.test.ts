/**
 * Unique keys at the queue's edge, whatever the backend: what a key, a
 * window and a mode may be, the messages when they are wrong, the methods
 * that need a key, key functions of bulk enqueues, and that every refusal
 * writes nothing. What the backends do with keys is the conformance suite's
 * (tests/conformance/unique_keys*.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  declareTask,
  DuplicateKeyError,
  SitqError,
  type TaskQueue,
} from "../mod.ts";
import {
  cleanup,
  newQueue,
  rejectionOf,
  tempDbPath,
  thrownBy,
} from "./helpers.ts";

afterAll(cleanup);

function setUp() {
  const queue = newQueue();
  const sync = queue.task("sync", (userId: number) => userId);
  return { queue, sync };
}

async function expectNothingWritten(queue: TaskQueue): Promise<void> {
  expect((await queue.stats()).queued).toBe(0);
}

describe("what a key, a window and a mode may be", () => {
  test.each([
    [
      "empty",
      "",
      RangeError,
      /'uniqueKey' must be 1 to 500 characters: current value is ""/,
    ],
    [
      "of 501 characters",
      "x".repeat(501),
      RangeError,
      /1 to 500 characters: current value is 501 characters long/,
    ],
    ["with NUL", "a\u0000b", RangeError, /must not contain NUL/],
    ["with a lone surrogate", "t-\uD800", RangeError, /lone surrogate/],
    [
      "that is a number",
      42,
      TypeError,
      /'uniqueKey' must be a string: current value is 42/,
    ],
  ])("a uniqueKey %s is refused by with()", (_, key, type, message) => {
    const { sync } = setUp();
    const error = thrownBy(() => sync.with({ uniqueKey: key as string }));
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });

  test("a key of 500 characters, spaces and any case are keys as given", async () => {
    const { queue, sync } = setUp();
    for (const key of ["x".repeat(500), " padded ", "User:42", "user:42"]) {
      const result = await queue.enqueueUnique(
        sync.with({ uniqueKey: key }),
        1,
      );
      expect(result.created).toBe(true);
      expect((await queue.getTask(result.id)).uniqueKey).toBe(key);
    }
  });

  test.each([
    [-1, RangeError],
    [1.5, RangeError],
    [Number.NaN, RangeError],
    ["60s", TypeError],
  ])("uniqueFor %p is refused", (value, type) => {
    const { sync } = setUp();
    const error = thrownBy(() =>
      sync.with({ uniqueKey: "k", uniqueFor: value as number })
    );
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(/'uniqueFor' must be/);
  });

  test.each([["ignore", RangeError], [1, TypeError]])(
    "onDuplicate %p is refused, naming the modes",
    (value, type) => {
      const { sync } = setUp();
      const error = thrownBy(() =>
        sync.with({ uniqueKey: "k", onDuplicate: value as "keep" })
      );
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(
        /'onDuplicate' must be one of "keep", "replace", "error"/,
      );
    },
  );

  test("uniqueFor or onDuplicate without a key is refused at enqueue, with() chains may add the key later", async () => {
    const { queue, sync } = setUp();
    for (
      const options of [{ uniqueFor: 1000 }, {
        onDuplicate: "replace",
      }] as const
    ) {
      const error = await rejectionOf(queue.enqueue(sync.with(options), 1));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/needs a 'uniqueKey'/);
    }
    await expectNothingWritten(queue);
    const later = sync.with({ onDuplicate: "error" }).with({ uniqueKey: "k" });
    await queue.enqueue(later, 1);
    expect(await rejectionOf(queue.enqueue(later, 1))).toBeInstanceOf(
      DuplicateKeyError,
    );
  });

  test("a uniqueFor of 0 is no window: the completed task gives its key up", async () => {
    const { queue, sync } = setUp();
    const once = sync.with({ uniqueKey: "k", uniqueFor: 0 });
    const first = await queue.enqueue(once, 1);
    expect((await queue.getTask(first)).uniqueFor).toBeUndefined();
    await queue.worker().processOne();
    expect((await queue.enqueueUnique(once, 1)).created).toBe(true);
  });
});

describe("the methods that report on keys", () => {
  test("enqueueUnique and enqueueManyUnique need a key, and say how to give one", async () => {
    const { queue, sync } = setUp();
    const one = await rejectionOf(queue.enqueueUnique(sync, 1));
    expect(one).toBeInstanceOf(TypeError);
    expect((one as Error).message).toBe(
      'Cannot enqueueUnique task "sync" as it has no \'uniqueKey\': give one with task.with({ uniqueKey: "..." }), or call enqueue()',
    );
    const many = await rejectionOf(queue.enqueueManyUnique(sync, [[1]]));
    expect((many as Error).message).toMatch(
      /^Cannot enqueueManyUnique task "sync" as it has no 'uniqueKey'.*\(\{ uniqueKey: \(\.\.\.args\) => key \}\), or call enqueueMany\(\)$/,
    );
    await expectNothingWritten(queue);
  });

  test("a key given to with() applies to every run of a bulk enqueue: the first creates, the rest meet it", async () => {
    const { queue, sync } = setUp();
    const results = await queue.enqueueManyUnique(
      sync.with({ uniqueKey: "all" }),
      [[1], [2], [3]],
    );
    expect(results.map((r) => [r.key, r.created])).toEqual([
      ["all", true],
      ["all", false],
      ["all", false],
    ]);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
  });

  test("a key function's bad key or throw refuses the whole batch before anything is written", async () => {
    const { queue, sync } = setUp();
    const bad = await rejectionOf(
      queue.enqueueManyUnique(sync, [[1], [2]], {
        uniqueKey: (userId) => (userId === 2 ? "" : `user:${userId}`),
      }),
    );
    expect(bad).toBeInstanceOf(RangeError);
    expect((bad as Error).message).toMatch(
      /^Cannot enqueue task "sync" as 'uniqueKey\(\.\.\.argument list 1\)' must be 1 to 500 characters/,
    );
    const thrown = new Error("no key for you");
    expect(
      await rejectionOf(
        queue.enqueueMany(sync, [[1]], {
          uniqueKey: () => {
            throw thrown;
          },
        }),
      ),
    ).toBe(thrown);
    await expectNothingWritten(queue);
  });

  test("DuplicateKeyError is a SitqError with the key, the task name and the holder", async () => {
    const { queue, sync } = setUp();
    const strict = sync.with({ uniqueKey: "user:1", onDuplicate: "error" });
    const holder = await queue.enqueue(strict, 1);
    const error = await rejectionOf(queue.enqueue(strict, 1));
    expect(error).toBeInstanceOf(SitqError);
    expect(error).toBeInstanceOf(DuplicateKeyError);
    const { code, key, taskName, holderId, name } = error as DuplicateKeyError;
    expect({ code, key, taskName, holderId, name }).toEqual({
      code: "DUPLICATE_KEY",
      key: "user:1",
      taskName: "sync",
      holderId: holder,
      name: "DuplicateKeyError",
    });
    expect((error as Error).message).toBe(
      `Cannot enqueue task "sync" with unique key "user:1": task ${holder} holds it and onDuplicate is "error" (wait for it with queue.waitForResult(${holder}), or enqueue with onDuplicate "keep" or "replace")`,
    );
  });

  test("a producer enqueues a declaration with a key; a worker's queue on the same file runs it, and the key is free again", async () => {
    const path = tempDbPath();
    const email = declareTask<[to: string], string>("email");
    const producer = newQueue({}, path);
    producer.declare(email);
    const keyed = email.with({ uniqueKey: "ada" });
    const first = await producer.enqueueUnique(keyed, "ada@example.com");
    const again = await producer.enqueueUnique(keyed, "ada@example.com");
    expect([first.created, again.created, again.id]).toEqual([
      true,
      false,
      first.id,
    ]);
    const workerQueue = newQueue({}, path);
    workerQueue.task(email, (to) => `sent to ${to}`);
    expect(await workerQueue.worker().processOne()).toBe(true);
    expect(await producer.getResult(first.id)).toMatchObject({
      status: "completed",
      value: "sent to ada@example.com",
    });
    expect((await producer.enqueueUnique(keyed, "ada@example.com")).created)
      .toBe(true);
  });
});
