/**
 * Values that would change on the way through storage (issue 7, item 9):
 * with the default SuperJsonSerializer and a real SQLite file, every value
 * either comes back exactly as it went in or is refused with a
 * SerializationError that names the path to the bad part and what to do.
 * Checked as an argument (refused at enqueue, nothing stored) and as a
 * result (the task fails at once with a PermanentError, as any unstorable
 * result does).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SuperJSON } from "superjson";
import {
  SerializationError,
  SuperJsonSerializer,
  type TaskContext,
  type TaskQueue,
  type TaskResult,
} from "../mod.ts";
import { cleanup, EMPTY_STATS, newQueue, rejectionOf } from "./helpers.ts";

afterAll(cleanup);

const ignore = (_value: unknown) => {};

/** Stores `value` as the only argument of task "take" and reads it back. */
async function throughArgument(
  queue: TaskQueue,
  value: unknown,
): Promise<unknown> {
  // The same handler each time, so defining it again is allowed.
  const take = queue.task("take", ignore);
  const id = await queue.enqueue(take, value);
  const [back] = (await queue.getTask(id)).args;
  return back;
}

/** Has a handler return `value`, runs it, and returns the task's result. */
async function throughResult(
  queue: TaskQueue,
  value: unknown,
): Promise<TaskResult> {
  const give = queue.task("give", () => value, { maxAttempts: 3 });
  const id = await queue.enqueue(give);
  expect(await queue.worker().processOne()).toBe(true);
  return await queue.getResult(id);
}

class Row extends Array<number> {}

/** A value that would not come back as it went in, and where it is bad. */
interface RefusedCase {
  kind: string;
  make: () => unknown;
  /** The path after the argument's own `[0]`. */
  path: string;
  /** Part of the message saying what it is. */
  says: string;
}

const REFUSED: RefusedCase[] = [
  {
    kind: "a hole in a sparse array",
    // deno-lint-ignore no-sparse-arrays
    make: () => [1, , 3],
    path: "[1]",
    says: "hole in a sparse array",
  },
  {
    kind: "a hole in a nested array",
    // deno-lint-ignore no-sparse-arrays
    make: () => ({ rows: [{ cells: [1, , 3] }] }),
    path: ".rows[0].cells[1]",
    says: "which would come back as null",
  },
  {
    kind: "an array made with new Array(n)",
    make: () => new Array(2),
    path: "[0]",
    says: "hole",
  },
  {
    kind: "a hole inside a Map value",
    // deno-lint-ignore no-sparse-arrays
    make: () => new Map([["k", [, 1]]]),
    path: ".get(k)[0]",
    says: "hole",
  },
  {
    kind: "an Array subclass",
    make: () => Row.from([1, 2]),
    path: "",
    says: "subclass of Array",
  },
  {
    kind: "a symbol-keyed property",
    make: () => ({ a: 1, [Symbol("tag")]: 2 }),
    path: "",
    says: "Symbol(tag)",
  },
  {
    kind: "a non-enumerable property",
    make: () => Object.defineProperty({ a: 1 }, "hidden", { value: 2 }),
    path: ".hidden",
    says: "non-enumerable",
  },
  {
    kind: "an own __proto__ property",
    make: () => JSON.parse('{"__proto__": {"admin": true}}'),
    path: ".__proto__",
    says: "__proto__",
  },
  {
    kind: "a property added to a Map",
    make: () => Object.assign(new Map([[1, 2]]), { label: "x" }),
    path: ".label",
    says: "property added to a Map",
  },
  {
    kind: "a property added to a Set",
    make: () => Object.assign(new Set([1]), { label: "x" }),
    path: ".label",
    says: "property added to a Set",
  },
  {
    kind: "a property added to a Date",
    make: () => Object.assign(new Date(0), { zone: "UTC" }),
    path: ".zone",
    says: "property added to a Date",
  },
  {
    kind: "a RegExp part-way through a search",
    make: () => {
      const pattern = /a/g;
      pattern.exec("banana");
      return pattern;
    },
    path: "",
    says: "lastIndex is 2",
  },
  {
    kind: "an Error with a property superjson drops",
    make: () => Object.assign(new Error("disk full"), { code: "ENOSPC" }),
    path: ".code",
    says: "allowErrorProps",
  },
  {
    kind: "an object made by Object.create(prototype)",
    make: () => Object.create({ inherited: 1 }),
    path: "",
    says: "Object.create",
  },
];

describe("values that would change are refused, naming the path", () => {
  for (const { kind, make, path, says } of REFUSED) {
    test(`as an argument: ${kind}`, async () => {
      const queue = newQueue();
      const error = await rejectionOf(throughArgument(queue, make()));
      expect(error).toBeInstanceOf(SerializationError);
      const message = (error as Error).message;
      expect(message).toContain(`the arguments of task "take" at [0]${path}:`);
      expect(message).toContain(says);
      expect(await queue.stats()).toEqual(EMPTY_STATS);
    });

    test(`as a result: ${kind}`, async () => {
      const queue = newQueue();
      const result = await throughResult(queue, make());
      expect(result.status).toBe("failed");
      if (result.status !== "failed") return;
      // Final at once: running it again would only repeat its side effects.
      expect(result.attempts).toBe(1);
      expect(result.error.name).toBe("PermanentError");
      expect(result.error.message).toContain(
        `the result of task "give"${path === "" ? ":" : ` at ${path}:`}`,
      );
      expect(result.error.message).toContain(says);
    });
  }

  test("an argument list given to enqueueMany() with a hole names the list and the index", async () => {
    const queue = newQueue();
    const pair = queue.task("pair", (_a?: number, _b?: number) => {});
    const error = await rejectionOf(
      // deno-lint-ignore no-sparse-arrays
      queue.enqueueMany(pair, [[1, 2], [, 2]]),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain("(list 1) at [0]:");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });

  test("progress with a hole is refused to the handler that reports it", async () => {
    const queue = newQueue();
    const task = queue.task("report", async function (this: TaskContext) {
      try {
        // deno-lint-ignore no-sparse-arrays
        await this.reportProgress([1, , 3]);
        return "stored";
      } catch (error) {
        return error instanceof SerializationError ? error.message : "other";
      }
    });
    const id = await queue.enqueue(task);
    await queue.worker().processOne();
    const result = await queue.getResult(id);
    expect(result.status).toBe("completed");
    expect(result.status === "completed" && result.value).toContain(
      "the progress of task",
    );
  });

  test("NaN, Infinity and -0 in a float array come back exactly or are refused, never changed", async () => {
    const queue = newQueue();
    for (const array of [new Float64Array([1, NaN]), new Float32Array([-0])]) {
      let back: unknown;
      try {
        back = await throughArgument(queue, array);
      } catch (error) {
        expect(error).toBeInstanceOf(SerializationError);
        expect((error as Error).message).toMatch(/at \[0\]\[[01]\]:/);
        continue;
      }
      expect(back).toStrictEqual(array);
    }
  });

  test("the installed superjson (2.2.6) turns NaN in a Float64Array into 0, so it is refused", async () => {
    const queue = newQueue();
    const error = await rejectionOf(
      throughArgument(queue, { samples: new Float64Array([0.5, NaN]) }),
    );
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain("at [0].samples[1]:");
    expect((error as Error).message).toContain("Array.from(");
  });

  test("an Error property allowed with allowErrorProps is stored and comes back", async () => {
    const superjson = new SuperJSON();
    superjson.allowErrorProps("code");
    const queue = newQueue({ serializer: new SuperJsonSerializer(superjson) });
    const back = await throughArgument(
      queue,
      Object.assign(new Error("disk full"), { code: "ENOSPC" }),
    ) as Error & { code: string };
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe("disk full");
    expect(back.code).toBe("ENOSPC");
  });
});

describe("values documented as kept come back exactly", () => {
  test("-0, NaN and ±Infinity, in arrays, objects and Map values", async () => {
    const queue = newQueue();
    const value = {
      list: [-0, Number.NaN, Infinity, -Infinity, 0],
      zero: -0,
      map: new Map([["z", -0]]),
    };
    const back = await throughArgument(queue, value);
    expect(back).toStrictEqual(value);
    expect(Object.is((back as typeof value).zero, -0)).toBe(true);
  });

  test("-0, NaN and undefined as a result", async () => {
    const queue = newQueue();
    const value = [-0, Number.NaN, undefined];
    const result = await throughResult(queue, value);
    expect(result.status).toBe("completed");
    expect(result.status === "completed" && result.value).toStrictEqual(value);
  });

  test("undefined inside arrays and as object values, told apart from holes", async () => {
    const queue = newQueue();
    const value = { list: [1, undefined, 3], missing: undefined };
    const back = await throughArgument(queue, value) as typeof value;
    expect(back).toStrictEqual(value);
    expect(1 in back.list).toBe(true);
    expect(Object.hasOwn(back, "missing")).toBe(true);
  });

  test("cycles through an array, a Map and a Set, and shared references", async () => {
    const queue = newQueue();
    const list: unknown[] = [];
    list.push(list);
    const map = new Map<string, unknown>();
    map.set("self", map);
    const set = new Set<unknown>();
    set.add(set);
    const shared = { n: 1 };
    const back = await throughArgument(queue, {
      list,
      map,
      set,
      a: shared,
      b: shared,
    }) as {
      list: unknown[];
      map: Map<string, unknown>;
      set: Set<unknown>;
      a: object;
      b: object;
    };
    expect(back.list[0]).toBe(back.list);
    expect(back.map.get("self")).toBe(back.map);
    expect([...back.set][0]).toBe(back.set);
    expect(back.a).toBe(back.b);
  });

  test("a Map with object keys, a Set, bigint and typed arrays of finite numbers", async () => {
    const queue = newQueue();
    const value = {
      map: new Map<unknown, string>([[{ k: 1 }, "object key"], [2n, "big"]]),
      set: new Set([1, "two"]),
      big: -(2n ** 80n),
      bytes: new Uint8Array([0, 255]),
      floats: new Float64Array([1.5, -2.25]),
    };
    expect(await throughArgument(queue, value)).toStrictEqual(value);
  });

  test("strings and keys with lone surrogates, which JSON escapes", async () => {
    const queue = newQueue();
    const value = { ["key-\uDC00"]: "value-\uD800", at: new Date(0) };
    const back = await throughArgument(queue, value) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(["key-\uDC00", "at"]);
    expect(back["key-\uDC00"]).toBe("value-\uD800");
  });

  test("documented normalisations: a null-prototype object comes back plain, a getter as its value", async () => {
    const queue = newQueue();
    const dictionary = Object.assign(Object.create(null) as object, { a: 1 });
    const back = await throughArgument(queue, {
      dictionary,
      get computed() {
        return 42;
      },
    }) as { dictionary: object; computed: number };
    expect(Object.getPrototypeOf(back.dictionary)).toBe(Object.prototype);
    expect(back.dictionary).toEqual({ a: 1 });
    expect(Object.getOwnPropertyDescriptor(back, "computed")?.value).toBe(42);
  });
});
