/**
 * Input that used to be accepted and then misbehaved later (issue 7, items 8
 * and 10): objects and functions of the wrong shape are refused when the
 * queue or worker is built, naming the option and the expected shape; and
 * names sitq stores as identities (task names, worker ids) must read back
 * from the database exactly as given.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { SuperJSON } from "superjson";
import {
  type Logger,
  SerializationError,
  type Serializer,
  SQLiteBackend,
  SuperJsonSerializer,
  type Task,
  type TaskContext,
  TaskQueue,
  Worker,
  type WorkerOptions,
} from "../mod.ts";
import {
  cleanup,
  closeLater,
  newQueue,
  rejectionOf,
  tempDbPath,
  thrownBy,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

/** The message of what `fn` threw, after checking it is a `type`. */
function messageOf(fn: () => unknown, type: ErrorConstructor): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(type);
  return (error as Error).message;
}

// The seeds' serializer: Python's pickle/json names.
const pythonStyle = {
  dumps: (value: unknown) => JSON.stringify(value),
  loads: (text: string) => JSON.parse(text),
} as unknown as Serializer;

describe("item 8: options of the wrong shape are refused at construction", () => {
  test("a { dumps, loads } serializer makes new TaskQueue() throw a TypeError naming 'serializer' and its shape", () => {
    const backend = closeLater(new SQLiteBackend(":memory:"));
    const message = messageOf(
      () => new TaskQueue(backend, { serializer: pythonStyle }),
      TypeError,
    );
    expect(message).toContain("'serializer'");
    expect(message).toContain("serialize(value)");
    expect(message).toContain("deserialize(text)");
    expect(message).toContain("dumps");
  });

  test("a { dumps, loads } serializer makes new Worker() and queue.worker() throw a TypeError naming 'serializer'", () => {
    const queue = newQueue();
    const noop = queue.task("noop", () => {});
    for (
      const build of [
        () =>
          new Worker(queue.backend, { tasks: [noop], serializer: pythonStyle }),
        () => queue.worker({ serializer: pythonStyle }),
      ]
    ) {
      const message = messageOf(build, TypeError);
      expect(message).toContain("Cannot create Worker");
      expect(message).toContain("'serializer'");
      expect(message).toContain("deserialize");
    }
  });

  test("a SuperJSON instance or JSON given as the serializer is refused with a hint to wrap it", () => {
    const backend = closeLater(new SQLiteBackend(":memory:"));
    for (const given of [new SuperJSON(), JSON]) {
      const message = messageOf(
        () =>
          new TaskQueue(backend, {
            serializer: given as unknown as Serializer,
          }),
        TypeError,
      );
      expect(message).toContain("new SuperJsonSerializer(");
    }
  });

  test("a serializer missing one method, or not an object, is refused", () => {
    const backend = closeLater(new SQLiteBackend(":memory:"));
    const halves: unknown[] = [
      { serialize: (v: unknown) => JSON.stringify(v) },
      { serialize: JSON.stringify, deserialize: "JSON.parse" },
      "superjson",
      (v: unknown) => JSON.stringify(v),
    ];
    for (const serializer of halves) {
      expect(
        thrownBy(() =>
          new TaskQueue(backend, { serializer: serializer as Serializer })
        ),
      ).toBeInstanceOf(TypeError);
    }
  });

  test("a serializer class instance with methods on its prototype is accepted", async () => {
    class JsonSerializer implements Serializer {
      serialize(value: unknown): string {
        return JSON.stringify(value);
      }
      deserialize(text: string): unknown {
        return JSON.parse(text);
      }
    }
    const queue = newQueue({ serializer: new JsonSerializer() });
    const echo = queue.task("echo", (n: number) => n);
    const id = await queue.enqueue(echo, 7);
    expect((await queue.getTask(id)).args).toEqual([7]);
  });

  test("new SuperJsonSerializer() refuses the SuperJSON class or another object in place of an instance", () => {
    expect(messageOf(
      () => new SuperJsonSerializer(SuperJSON as unknown as SuperJSON),
      TypeError,
    )).toContain("not the class");
    expect(
      thrownBy(() => new SuperJsonSerializer({} as unknown as SuperJSON)),
    ).toBeInstanceOf(TypeError);
  });

  test("a clock without now(), a bare function, or a now() returning a Date is refused by TaskQueue and Worker", () => {
    const queue = newQueue();
    const noop = queue.task("noop", () => {});
    const clocks: unknown[] = [
      {},
      Date.now,
      { now: () => new Date() },
      { now: () => "1700000000000" },
      { now: () => Number.NaN },
    ];
    for (const clock of clocks) {
      const options = { clock } as never;
      expect(messageOf(() => new TaskQueue(queue.backend, options), TypeError))
        .toContain("'clock");
      expect(messageOf(
        () => new Worker(queue.backend, { tasks: [noop], clock } as never),
        TypeError,
      )).toContain("'clock");
    }
    expect(() => new TaskQueue(queue.backend, { clock: { now: Date.now } }))
      .not.toThrow();
  });

  test("a logger that is a string, a lone function, has no level method, or a level that is not a function is refused", () => {
    const queue = newQueue();
    const noop = queue.task("noop", () => {});
    const build = (logger: unknown) => () =>
      new Worker(queue.backend, { tasks: [noop], logger: logger as Logger });
    const loggers: unknown[] = [
      "debug",
      console.log,
      { log: console.log },
      { info: "yes" },
      null,
    ];
    for (const logger of loggers) {
      expect(messageOf(build(logger), TypeError)).toContain("'logger");
    }
    expect(messageOf(build({ info: "yes" }), TypeError)).toContain(
      "'logger.info'",
    );
    expect(
      messageOf(() => queue.worker({ logger: "debug" as never }), TypeError),
    )
      .toContain("'logger'");
    expect(build(console)).not.toThrow();
    expect(build({ warn: () => {} })).not.toThrow();
  });

  test("an object that is not a backend (a raw database handle, a path) is refused by TaskQueue and Worker", () => {
    const queue = newQueue();
    const noop = queue.task("noop", () => {});
    const raw = new Database(":memory:");
    try {
      for (const backend of [raw, {}, "tasks.db"]) {
        const asBackend = backend as unknown as SQLiteBackend;
        const message = messageOf(() => new TaskQueue(asBackend), TypeError);
        expect(message).toContain("'backend'");
        expect(message).toContain("new SQLiteBackend(");
        expect(
          messageOf(() => new Worker(asBackend, { tasks: [noop] }), TypeError),
        ).toContain("'backend'");
      }
    } finally {
      raw.close();
    }
  });

  test("a backoff with a field its type ignores or a non-boolean jitter is refused when the task is defined", () => {
    const queue = newQueue();
    const noop = () => {};
    const backoffs: unknown[] = [
      { type: "fixed", delay: 100, maxDelay: 1000 },
      { type: "exponential", delay: 100, max: 1000 },
      { type: "exponential", delay: 100, jitter: "no" },
    ];
    for (const [index, backoff] of backoffs.entries()) {
      const message = messageOf(
        () => queue.task(`t${index}`, noop, { backoff: backoff as never }),
        TypeError,
      );
      expect(message).toContain("backoff");
    }
    expect(() =>
      queue.task("ok", noop, {
        backoff: { type: "exponential", delay: 100, jitter: false },
      })
    ).not.toThrow();
    expect(() => queue.task("fn", noop, { backoff: (n) => n * 10 })).not
      .toThrow();
  });

  test("waitForResult() refuses a signal that is not an AbortSignal", async () => {
    const queue = newQueue();
    const noop = queue.task("noop", () => {});
    const id = await queue.enqueue(noop);
    for (const signal of [{}, "abort", { aborted: false }]) {
      const error = await rejectionOf(
        queue.waitForResult(id, { signal: signal as never }),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("'signal'");
    }
  });

  test("new Worker() refuses a hand-made task list entry without a handler, naming what it found", () => {
    const queue = newQueue();
    const message = messageOf(
      () =>
        new Worker(queue.backend, {
          tasks: [{ name: "x" }] as unknown as WorkerOptions["tasks"],
        }),
      TypeError,
    );
    expect(message).toContain("tasks");
  });
});

describe("item 10: names stored as identities read back exactly", () => {
  test("a task name with a lone surrogate is refused when the task is defined, as a NUL is", () => {
    const queue = newQueue();
    for (const name of ["t-\uD800", "\uDC00t", "a\uDBFF\uDBFFb", "t\uDFFF"]) {
      const message = messageOf(() => queue.task(name, () => {}), RangeError);
      expect(message).toContain("lone surrogate");
      expect(message).toContain("U+FFFD");
    }
    expect(thrownBy(() => queue.task("t\u0000", () => {}))).toBeInstanceOf(
      RangeError,
    );
    expect(queue.tasks).toHaveLength(0);
  });

  test("a name with a surrogate pair (an emoji) is stored, claimed and run under exactly that name", async () => {
    const path = tempDbPath();
    const queue = newQueue({}, path);
    const name = "thumbs-\u{1F44D}-\u{10FFFF}";
    const task = queue.task(name, function (this: TaskContext) {
      return this.name;
    });
    const id = await queue.enqueue(task);
    const stored = withRaw(
      path,
      (db) =>
        db.query("select name from sitq_tasks where id = ?").get(id) as {
          name: string;
        },
      { readonly: true },
    );
    expect(stored.name).toBe(name);
    expect(await queue.worker().processOne()).toBe(true);
    expect(await queue.getResult(id)).toEqual({
      status: "completed",
      value: name,
      attempts: 1,
    });
  });

  test("a hand-made task given to new Worker() with a lone surrogate in its name is refused", () => {
    const queue = newQueue();
    const handMade = {
      name: "t-\uD800",
      handler: () => {},
      options: {},
      with: () => handMade,
    } as unknown as Task<never, unknown>;
    expect(
      messageOf(
        () => new Worker(queue.backend, { tasks: [handMade] }),
        RangeError,
      ),
    ).toContain("lone surrogate");
  });

  test("a workerId with a lone surrogate or a control character is refused; one with an emoji is stored exactly", async () => {
    const queue = newQueue();
    const noop = queue.task("noop", () => {});
    for (const workerId of ["w-\uDC00", "w\u0000x", "w\nx"]) {
      expect(thrownBy(() => queue.worker({ workerId }))).toBeInstanceOf(
        RangeError,
      );
    }
    const workerId = "w-\u{1F680}";
    const id = await queue.enqueue(noop);
    expect(await queue.worker({ workerId }).processOne()).toBe(true);
    const record = await queue.getTask(id);
    expect(record.workerId).toBe(workerId);
    expect(record.history[0]?.workerId).toBe(workerId);
  });

  test("listTasks() refuses a name filter with a lone surrogate rather than match other names", async () => {
    const queue = newQueue();
    expect(await rejectionOf(queue.listTasks({ name: "t-\uD800" })))
      .toBeInstanceOf(RangeError);
  });

  test("loneSurrogateIndex agrees with String.prototype.isWellFormed where the runtime has it", async () => {
    // Imported here, not at the top, so that without the function only this
    // test fails.
    const { loneSurrogateIndex } = await import("../lib/core/validate.ts");
    const samples = [
      "",
      "plain",
      "\uD800",
      "\uDC00",
      "a\uD800b",
      "\uD83D\uDC4D",
      "\uDC4D\uD83D",
      "\uD83D\uD83D\uDC4D",
      "x\uDBFF",
      "\uDFFFx",
    ];
    const expected = [-1, -1, 0, 0, 1, -1, 0, 0, 1, 0];
    expect(samples.map(loneSurrogateIndex)).toEqual(expected);
    const native = (String.prototype as { isWellFormed?: () => boolean })
      .isWellFormed;
    if (native !== undefined) {
      for (const sample of samples) {
        expect(loneSurrogateIndex(sample) === -1).toBe(native.call(sample));
      }
    }
  });

  test("a custom serializer whose text holds a lone surrogate is refused at enqueue, and nothing is stored", async () => {
    // Unlike JSON.stringify, this serializer does not escape what UTF-8
    // cannot hold.
    const raw: Serializer = {
      serialize: (value) => `raw:${String((value as unknown[])[0])}`,
      deserialize: (text) => [text.slice(4)],
    };
    const queue = newQueue({ serializer: raw });
    const take = queue.task("take", (_text: string) => {});
    const error = await rejectionOf(queue.enqueue(take, "a\uD800b"));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain("lone surrogate");
    expect((await queue.stats()).queued).toBe(0);
    await queue.enqueue(take, "a\u{1F44D}b");
    expect((await queue.stats()).queued).toBe(1);
  });
});
