/**
 * How arguments, results and errors are stored: the superjson default, the
 * values it refuses, registered classes, custom serializers, and what a
 * handler's thrown value turns into.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SuperJSON } from "superjson";
import {
  SerializationError,
  type Serializer,
  SQLiteBackend,
  SuperJsonSerializer,
  TaskQueue,
  type TaskResult,
  Worker,
} from "../mod.ts";
import {
  cleanup,
  closeLater,
  EMPTY_STATS,
  newQueue,
  rejectionOf,
  tempDbPath,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

/** Reads one column of one task straight from the file. */
function rawColumn(path: string, id: number, column: string): unknown {
  const row = withRaw(
    path,
    (db) =>
      db.query(`select ${column} as v from sitq_tasks where id = ?`)
        .get(id) as { v: unknown } | null,
    { readonly: true },
  );
  return row?.v;
}

function completedValue(result: TaskResult): unknown {
  if (result.status !== "completed") {
    throw new Error(`expected a completed task, got ${JSON.stringify(result)}`);
  }
  return result.value;
}

/** `result` as a failure; fails the test if the task did not fail. */
function failure(
  result: TaskResult,
): Extract<TaskResult, { status: "failed" }> {
  expect(result.status).toBe("failed");
  return result as Extract<TaskResult, { status: "failed" }>;
}

class Point {
  constructor(public x: number, public y: number) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** A value using every type the default serializer promises to keep. */
function richValue() {
  return {
    date: new Date(Date.UTC(2024, 1, 29, 12, 30)),
    map: new Map<unknown, unknown>([["a", 1], [2, new Date(0)]]),
    set: new Set([1, "two", 3n]),
    big: 12345678901234567890n,
    missing: undefined,
    regexp: /ab+c/gi,
    url: new URL("https://example.com/a?b=c#d"),
    bytes: new Uint8Array([0, 1, 255]),
    floats: new Float64Array([1.5, -2.25]),
    special: [Number.NaN, Infinity, -Infinity],
    nested: { deep: { list: [1, { inner: new Set(["x"]) }, null] } },
  };
}

/** Checks every part of `value` against {@linkcode richValue}, by type and content. */
function expectRichValue(value: unknown): void {
  const v = value as ReturnType<typeof richValue>;
  const expected = richValue();
  expect(v.date).toBeInstanceOf(Date);
  expect(v.date.getTime()).toBe(expected.date.getTime());
  expect(v.map).toBeInstanceOf(Map);
  expect([...v.map.keys()]).toEqual(["a", 2]);
  expect(v.map.get("a")).toBe(1);
  expect(v.map.get(2)).toBeInstanceOf(Date);
  expect((v.map.get(2) as Date).getTime()).toBe(0);
  expect(v.set).toBeInstanceOf(Set);
  expect([...v.set]).toEqual([1, "two", 3n]);
  expect(typeof v.big).toBe("bigint");
  expect(v.big).toBe(12345678901234567890n);
  expect(Object.hasOwn(v, "missing")).toBe(true);
  expect(v.missing).toBeUndefined();
  expect(v.regexp).toBeInstanceOf(RegExp);
  expect(v.regexp.source).toBe("ab+c");
  expect(v.regexp.flags).toBe("gi");
  expect(v.url).toBeInstanceOf(URL);
  expect(v.url.href).toBe("https://example.com/a?b=c#d");
  expect(v.bytes).toBeInstanceOf(Uint8Array);
  expect([...v.bytes]).toEqual([0, 1, 255]);
  expect(v.floats).toBeInstanceOf(Float64Array);
  expect([...v.floats]).toEqual([1.5, -2.25]);
  expect(Number.isNaN(v.special[0])).toBe(true);
  expect(v.special.slice(1)).toEqual([Infinity, -Infinity]);
  const inner = v.nested.deep.list[1] as { inner: Set<string> };
  expect(inner.inner).toBeInstanceOf(Set);
  expect([...inner.inner]).toEqual(["x"]);
  expect(v.nested.deep.list[0]).toBe(1);
  expect(v.nested.deep.list[2]).toBeNull();
}

describe("SuperJsonSerializer (the default)", () => {
  test("SuperJsonSerializer round-trips Date, Map, Set, bigint, undefined, RegExp, URL and typed arrays in arguments", async () => {
    const queue = newQueue();
    const task = queue.task(
      "take",
      (_v: unknown, _u: undefined, _n: number) => {},
    );
    const id = await queue.enqueue(task, richValue(), undefined, 7);
    const { args } = await queue.getTask(id);
    expect(args).toHaveLength(3);
    expectRichValue(args[0]);
    expect(args[1]).toBeUndefined();
    expect(args[2]).toBe(7);
  });

  test("SuperJsonSerializer hands the handler its arguments with their types intact", async () => {
    const queue = newQueue();
    let received: unknown[] = [];
    const task = queue.task("take", (...args: unknown[]) => {
      received = args;
    });
    await queue.enqueue(task, richValue(), undefined, "last");
    expect(await queue.worker().processOne()).toBe(true);
    expect(received).toHaveLength(3);
    expectRichValue(received[0]);
    expect(received[1]).toBeUndefined();
    expect(received[2]).toBe("last");
  });

  test("SuperJsonSerializer round-trips the same rich value as a result", async () => {
    const queue = newQueue();
    const task = queue.task("give", () => richValue());
    const id = await queue.enqueue(task);
    await queue.worker().processOne();
    expectRichValue(completedValue(await queue.getResult(id)));
  });

  test("SuperJsonSerializer keeps a bigint, a Date and a Map as top-level results", async () => {
    const queue = newQueue();
    const big = queue.task("big", () => 2n ** 70n);
    const date = queue.task("date", () => new Date(86_400_000));
    const map = queue.task("map", () => new Map([[1, "one"]]));
    const ids: number[] = [
      await queue.enqueue(big),
      await queue.enqueue(date),
      await queue.enqueue(map),
    ];
    const worker = queue.worker();
    while (await worker.processOne()) { /* run all three */ }
    const [b, d, m] = await Promise.all(
      ids.map(async (id) => completedValue(await queue.getResult(id))),
    );
    expect(b).toBe(2n ** 70n);
    expect(d).toBeInstanceOf(Date);
    expect((d as Date).getTime()).toBe(86_400_000);
    expect(m).toBeInstanceOf(Map);
    expect((m as Map<number, string>).get(1)).toBe("one");
  });

  test("SuperJsonSerializer keeps shared and cyclic references", async () => {
    const queue = newQueue();
    const task = queue.task("cyc", (_v: unknown) => {});
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const id = await queue.enqueue(task, cyclic);
    const [arg] = (await queue.getTask(id)).args as [Record<string, unknown>];
    expect(arg.self).toBe(arg);
    expect(arg.shared).toBe(arg.again);
    expect(arg.shared).toEqual({ n: 1 });
  });

  test("SuperJsonSerializer refuses a function in the arguments, naming its path, and stores nothing", async () => {
    const queue = newQueue();
    const task = queue.task("cb", (_a: number, _b: { cb: () => void }) => {});
    const error = await rejectionOf(
      queue.enqueue(task, 1, { cb: function onDone() {} }),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).code).toBe("SERIALIZATION");
    const message = (error as Error).message;
    expect(message).toContain("[1].cb");
    expect(message).toContain("function");
    expect(message).toContain("onDone");
    expect(message).toContain('task "cb"');
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("SuperJsonSerializer refuses a symbol in the arguments, naming its path, and stores nothing", async () => {
    const queue = newQueue();
    const task = queue.task("sym", (_a: unknown[]) => {});
    const error = await rejectionOf(
      queue.enqueue(task, [1, { tag: Symbol("secret") }]),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain("[0][1].tag");
    expect((error as Error).message).toContain("Symbol(secret)");
    const topLevel = await rejectionOf(
      queue.enqueue(task, Symbol("bare") as unknown as unknown[]),
    );
    expect(topLevel).toBeInstanceOf(SerializationError);
    expect((topLevel as Error).message).toContain("[0]");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("SuperJsonSerializer refuses an unregistered class instance, naming the class and path", async () => {
    const queue = newQueue();
    const task = queue.task("pt", (_p: { at: Point }) => {});
    const error = await rejectionOf(
      queue.enqueue(task, { at: new Point(3, 4) }),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain("[0].at");
    expect((error as Error).message).toContain("Point");
    expect((error as Error).message).toContain("register the class");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("SuperJsonSerializer refuses a function inside a Map or a Set, naming where it is", async () => {
    const queue = newQueue();
    const task = queue.task("coll", (_v: unknown) => {});
    const inMap = await rejectionOf(
      queue.enqueue(task, new Map([["handler", () => {}]])),
    );
    expect(inMap).toBeInstanceOf(SerializationError);
    expect((inMap as Error).message).toContain("[0].get(handler)");
    const inSet = await rejectionOf(queue.enqueue(task, new Set([() => {}])));
    expect(inSet).toBeInstanceOf(SerializationError);
    expect((inSet as Error).message).toContain("[0].<item>");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("SuperJsonSerializer accepts a class registered on the SuperJSON instance it was given", async () => {
    const superjson = new SuperJSON();
    superjson.registerClass(Point, { identifier: "Point" });
    const queue = newQueue({ serializer: new SuperJsonSerializer(superjson) });
    let norm = 0;
    let wasPoint = false;
    const task = queue.task("move", (p: Point) => {
      wasPoint = p instanceof Point;
      norm = p.norm();
      return new Point(p.x + 1, p.y + 1);
    });
    const id = await queue.enqueue(task, new Point(3, 4));
    const [arg] = (await queue.getTask(id)).args;
    expect(arg).toBeInstanceOf(Point);
    expect(await queue.worker().processOne()).toBe(true);
    expect(wasPoint).toBe(true);
    expect(norm).toBe(5);
    const value = completedValue(await queue.getResult(id));
    expect(value).toBeInstanceOf(Point);
    expect(value).toEqual(new Point(4, 5));
  });

  test("SuperJsonSerializer.serialize() throws SerializationError without a path for a bare function", () => {
    const serializer = new SuperJsonSerializer();
    expect(() => serializer.serialize(() => {})).toThrow(SerializationError);
    expect(() => serializer.serialize(() => {})).toThrow(
      /^Cannot serialize the value: it is a function/,
    );
    expect(serializer.deserialize(serializer.serialize([1, "a"]))).toEqual([
      1,
      "a",
    ]);
  });
});

describe("a custom Serializer", () => {
  /** A JSON serializer that marks its output and counts its calls. */
  function taggingSerializer() {
    const calls = { serialize: 0, deserialize: 0 };
    const serializer: Serializer = {
      serialize(value) {
        calls.serialize++;
        return `tag:${JSON.stringify(value)}`;
      },
      deserialize(text) {
        calls.deserialize++;
        if (!text.startsWith("tag:")) {
          throw new Error(`not written by this serializer: ${text}`);
        }
        return JSON.parse(text.slice(4));
      },
    };
    return { serializer, calls };
  }

  test("a custom Serializer stores arguments and results in its own format", async () => {
    const path = tempDbPath();
    const { serializer, calls } = taggingSerializer();
    const queue = newQueue({ serializer }, path);
    let received: unknown[] = [];
    const task = queue.task("sum", (a: number, b: { c: number }) => {
      received = [a, b];
      return { total: a + b.c };
    });
    const id = await queue.enqueue(task, 2, { c: 3 });
    expect(calls.serialize).toBe(1);
    expect(rawColumn(path, id, "args")).toBe('tag:[2,{"c":3}]');

    // queue.worker() shares the queue's serializer.
    expect(await queue.worker().processOne()).toBe(true);
    expect(received).toEqual([2, { c: 3 }]);
    expect(calls.serialize).toBe(2);
    expect(rawColumn(path, id, "result")).toBe('tag:{"total":5}');

    const deserializedBefore = calls.deserialize;
    expect(completedValue(await queue.getResult(id))).toEqual({ total: 5 });
    expect(calls.deserialize).toBe(deserializedBefore + 1);
  });

  test("a custom Serializer given to new Worker() is the one that reads arguments and writes results", async () => {
    const path = tempDbPath();
    const { serializer, calls } = taggingSerializer();
    const backend = new SQLiteBackend(path);
    const queue = closeLater(new TaskQueue(backend, { serializer }));
    const echo = queue.task("echo", (v: string) => `${v}!`);
    const id = await queue.enqueue(echo, "hey");
    const worker = new Worker(backend, { tasks: [echo], serializer });
    expect(await worker.processOne()).toBe(true);
    expect(calls.deserialize).toBeGreaterThanOrEqual(1);
    expect(rawColumn(path, id, "result")).toBe('tag:"hey!"');
  });

  test("a custom Serializer's error at enqueue becomes a SerializationError and nothing is stored", async () => {
    // JSON cannot store a bigint: JSON.stringify throws a TypeError.
    const json: Serializer = {
      serialize: (value) => JSON.stringify(value),
      deserialize: (text) => JSON.parse(text),
    };
    const queue = newQueue({ serializer: json });
    const task = queue.task("n", (_n: bigint) => {});
    const error = await rejectionOf(queue.enqueue(task, 1n));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain('task "n"');
    expect((error as Error).message).toContain("BigInt");
    expect((error as SerializationError).cause).toBeInstanceOf(TypeError);
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("a worker whose serializer cannot read the stored arguments fails the task without retrying", async () => {
    const path = tempDbPath();
    const writer = newQueue({}, path);
    const task = writer.task("t", (_n: number) => "ran");
    const id = await writer.enqueue(task, 1);
    const { serializer } = taggingSerializer();
    const reader = newQueue({ serializer }, path);
    const readerTask = reader.task("t", (_n: number) => "ran", {
      maxAttempts: 3,
    });
    const worker = new Worker(reader.backend, {
      tasks: [readerTask],
      serializer,
    });
    expect(await worker.processOne()).toBe(true);
    const result = failure(await writer.getResult(id));
    expect(result.attempts).toBe(1);
    expect(result.error.message).toContain("Cannot read the arguments");
  });
});

describe("stored errors", () => {
  /** Runs a handler that throws `thrown` once (maxAttempts 1) and returns the stored failure. */
  async function failureOf(thrown: () => unknown) {
    const queue = newQueue();
    const task = queue.task("throws", () => {
      throw thrown();
    }, { maxAttempts: 1 });
    const id = await queue.enqueue(task);
    expect(await queue.worker().processOne()).toBe(true);
    const result = failure(await queue.getResult(id));
    expect(result.attempts).toBe(1);
    return { result, record: await queue.getTask(id) };
  }

  test("a handler that throws a string stores a message containing that string", async () => {
    const { result } = await failureOf(() => "disk full on /var");
    expect(result.error.message).toContain("disk full on /var");
    expect(result.error.name.length).toBeGreaterThan(0);
  });

  test("a handler that throws a plain object stores a message describing its fields", async () => {
    const { result } = await failureOf(() => ({ status: 503, reason: "busy" }));
    expect(result.error.message).toContain('"status":503');
    expect(result.error.message).toContain('"reason":"busy"');
    expect(result.error.message).not.toContain("[object Object]");
  });

  test("a handler that throws undefined or null stores a message saying so", async () => {
    const undef = await failureOf(() => undefined);
    expect(undef.result.error.message).toContain("undefined");
    const nul = await failureOf(() => null);
    expect(nul.result.error.message).toContain("null");
  });

  test("a handler that throws a number stores a message containing it", async () => {
    const { result } = await failureOf(() => 418);
    expect(result.error.message).toContain("418");
  });

  test("a handler that throws a cyclic object still gets a stored message", async () => {
    const { result } = await failureOf(() => {
      const o: Record<string, unknown> = { kind: "cyclic" };
      o.self = o;
      return o;
    });
    expect(typeof result.error.message).toBe("string");
    expect(result.error.message.length).toBeGreaterThan(0);
  });

  test("a handler that throws an Error stores its name, message, stack and code", async () => {
    class QuotaError extends Error {
      override name = "QuotaError";
      code = "E_QUOTA";
    }
    function checkQuota(): never {
      throw new QuotaError("quota exceeded for user 7");
    }
    const { result, record } = await failureOf(() => {
      try {
        checkQuota();
      } catch (error) {
        return error;
      }
    });
    expect(result.error.name).toBe("QuotaError");
    expect(result.error.message).toBe("quota exceeded for user 7");
    expect(result.error.code).toBe("E_QUOTA");
    expect(result.error.stack).toContain("quota exceeded for user 7");
    expect(result.error.stack).toContain("checkQuota");
    expect(record.history).toHaveLength(1);
    expect(record.history[0]!.outcome).toBe("failed");
    expect(record.history[0]!.error).toEqual(result.error);
  });

  test("a handler that throws a built-in TypeError stores its name", async () => {
    const { result } = await failureOf(() =>
      new TypeError("x is not a function")
    );
    expect(result.error.name).toBe("TypeError");
    expect(result.error.message).toBe("x is not a function");
  });

  test("an async handler's rejection is stored like a thrown error", async () => {
    const queue = newQueue();
    const task = queue.task("async", async () => {
      await Promise.resolve();
      throw new Error("async failure");
    }, { maxAttempts: 1 });
    const id = await queue.enqueue(task);
    await queue.worker().processOne();
    const result = failure(await queue.getResult(id));
    expect(result.error.message).toBe("async failure");
  });
});

describe("unserializable results", () => {
  test("a handler returning a function fails the task at once, without retries", async () => {
    const queue = newQueue();
    let runs = 0;
    const task = queue.task("fn", () => {
      runs++;
      return { callback: () => 1 };
    }, { maxAttempts: 3, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true);
    // No retry is queued, so nothing more is claimable.
    expect(await worker.processOne()).toBe(false);
    expect(runs).toBe(1);
    const result = failure(await queue.getResult(id));
    expect(result.attempts).toBe(1);
    expect(result.error.message).toContain("Cannot serialize the result");
    expect(result.error.message).toContain(".callback");
    expect(result.error.message).toContain('task "fn"');
  });

  test("a handler returning an unregistered class instance fails the task with a message naming the class", async () => {
    const queue = newQueue();
    const task = queue.task("pt", () => new Point(1, 2), { maxAttempts: 3 });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true);
    expect(await worker.processOne()).toBe(false);
    const result = failure(await queue.getResult(id));
    expect(result.attempts).toBe(1);
    expect(result.error.message).toContain("Point");
    expect(result.error.message).toMatch(/serializ/i);
  });
});
