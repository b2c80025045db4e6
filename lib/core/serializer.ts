/**
 * Turning arguments and results into text and back.
 *
 * @module
 */
import { SuperJSON } from "superjson";
import { SerializationError } from "./errors.ts";

/**
 * Turns values into text for storage and back. The default is
 * {@linkcode SuperJsonSerializer}; pass another to `TaskQueue` and `Worker` to
 * change the format.
 *
 * `serialize` should throw for values it cannot represent faithfully rather
 * than store something else.
 *
 * @example A JSON serializer
 * ```ts
 * import { type Serializer, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const json: Serializer = {
 *   serialize: (value) => JSON.stringify(value),
 *   deserialize: (text) => JSON.parse(text),
 * };
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"), { serializer: json });
 * await queue.close();
 * ```
 */
export interface Serializer {
  /** Turns a value into text; throws if it cannot be stored faithfully. */
  serialize(value: unknown): string;
  /** Turns text made by `serialize` back into a value. */
  deserialize(text: string): unknown;
}

function describeValue(value: unknown): string {
  if (typeof value === "function") {
    return `a function (${value.name || "anonymous"})`;
  }
  if (typeof value === "symbol") return `a symbol (${String(value)})`;
  if (value instanceof Date) return "an invalid Date";
  if (
    ArrayBuffer.isView(value) && !SUPPORTED_PROTOTYPES.has(
      Object.getPrototypeOf(value) as object,
    )
  ) {
    return `an instance of ${value.constructor.name} (copy it into a plain typed array, e.g. new Uint8Array(buffer))`;
  }
  if (typeof value === "object" && value !== null) {
    const name = value.constructor?.name;
    return name
      ? `an instance of ${name}`
      : "an object with a custom prototype";
  }
  return typeof value;
}

// Exactly the built-ins superjson restores as they were. Subclasses are not
// among them: superjson would hand back the base class (a Node Buffer comes
// back as an error, a TypeError as a plain Error), so they are refused like
// any unregistered class. DataView is not supported by superjson at all.
const SUPPORTED_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  Error.prototype,
  URL.prototype,
  Int8Array.prototype,
  Uint8Array.prototype,
  Uint8ClampedArray.prototype,
  Int16Array.prototype,
  Uint16Array.prototype,
  Int32Array.prototype,
  Uint32Array.prototype,
  Float32Array.prototype,
  Float64Array.prototype,
]);

function isBuiltInSupported(value: object, prototype: object | null): boolean {
  if (prototype === null || !SUPPORTED_PROTOTYPES.has(prototype)) return false;
  // superjson writes an invalid Date as null.
  return prototype !== Date.prototype ||
    !Number.isNaN((value as Date).getTime());
}

function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((key) => typeof key === "number" ? `[${key}]` : `.${key}`)
    .join("");
}

/**
 * Serializes with superjson: JSON plus `Date`, `Map`, `Set`, `bigint`,
 * `undefined`, `RegExp`, `URL`, `Error`, typed arrays, `NaN`/`Infinity` and
 * classes registered on the given superjson instance.
 *
 * superjson silently drops functions and symbols and turns unregistered class
 * instances into plain objects, so this serializer refuses them with a
 * {@linkcode SerializationError} naming the path to the bad value.
 *
 * @example Round-trip a Map and a Date
 * ```ts
 * import { SuperJsonSerializer } from "sitq";
 *
 * const serializer = new SuperJsonSerializer();
 * const text = serializer.serialize([new Map([["at", new Date(0)]])]);
 * console.log(serializer.deserialize(text));
 * ```
 */
export class SuperJsonSerializer implements Serializer {
  readonly #superjson: SuperJSON;

  /**
   * Creates a serializer around a superjson instance.
   *
   * @param superjson The superjson instance to use; pass your own to register
   * classes (`instance.registerClass(Point)`).
   */
  constructor(superjson: SuperJSON = new SuperJSON()) {
    this.#superjson = superjson;
  }

  /**
   * Serializes `value` after checking it holds nothing superjson would lose.
   *
   * @throws {SerializationError} For functions, symbols, unregistered class
   * instances, or anything superjson itself rejects.
   */
  serialize(value: unknown): string {
    const plain = this.#scan(value, [], new Set());
    try {
      // For plain JSON superjson writes exactly {"json":...}; skip its walk.
      return plain
        ? `{"json":${JSON.stringify(value)}}`
        : this.#superjson.stringify(value);
    } catch (error) {
      throw new SerializationError(
        `Cannot serialize the value: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }

  /** Parses text made by {@linkcode SuperJsonSerializer.serialize}. */
  deserialize(text: string): unknown {
    return this.#superjson.parse(text);
  }

  /**
   * Walks `value`, refusing what superjson would lose, and reports whether it
   * is plain JSON (no Date, Map, undefined, NaN, repeated reference, ...).
   * `path` is a stack of keys, joined only when a value is refused.
   */
  #scan(
    value: unknown,
    path: Array<string | number>,
    seen: Set<object>,
  ): boolean {
    switch (typeof value) {
      case "string":
      case "boolean":
        return true;
      case "number":
        // superjson records NaN, Infinity and -0 in its meta.
        return Number.isFinite(value) && !Object.is(value, -0);
      case "function":
      case "symbol":
        throw this.#refuse(value, formatPath(path));
      case "object":
        break;
      default: // undefined, bigint
        return false;
    }
    if (value === null) return true;
    if (seen.has(value)) return false; // superjson records the identity
    seen.add(value);
    let plain = true;
    const visit = (key: string | number, item: unknown) => {
      path.push(key);
      if (!this.#scan(item, path, seen)) plain = false;
      path.pop();
    };
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(index, item));
      return plain;
    }
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype === Map.prototype) {
      for (const [key, item] of value as Map<unknown, unknown>) {
        visit("<key>", key);
        visit(`get(${String(key)})`, item);
      }
      return false;
    }
    if (prototype === Set.prototype) {
      for (const item of value as Set<unknown>) visit("<item>", item);
      return false;
    }
    if (isBuiltInSupported(value, prototype)) return false;
    if (prototype !== Object.prototype && prototype !== null) {
      type Registered = Parameters<
        SuperJSON["classRegistry"]["getIdentifier"]
      >[0];
      const registered = this.#superjson.classRegistry.getIdentifier(
        (prototype as { constructor: Registered }).constructor,
      );
      if (registered === undefined) throw this.#refuse(value, formatPath(path));
      plain = false;
    }
    for (const key of Object.keys(value)) {
      visit(key, (value as Record<string, unknown>)[key]);
    }
    return plain;
  }

  #refuse(value: unknown, path: string): SerializationError {
    return new SerializationError(
      `Cannot serialize the value${path === "" ? "" : ` at ${path}`}: it is ${
        describeValue(value)
      }, which would not survive storage; pass plain data (objects, arrays, Date, Map, Set, bigint, Uint8Array) or register the class on a SuperJSON instance given to SuperJsonSerializer`,
    );
  }
}

/**
 * Runs `serializer.serialize`, turning anything it throws into a
 * {@linkcode SerializationError} that says what was being serialized
 * (`what`, or what the function returns, called only on failure).
 */
export function serializeOrThrow(
  serializer: Serializer,
  value: unknown,
  what: string | (() => string),
): string {
  const describe = () => typeof what === "function" ? what() : what;
  let text: unknown;
  try {
    text = serializer.serialize(value);
  } catch (error) {
    // Described only on failure: bulk enqueues call this once per task.
    const description = describe();
    if (error instanceof SerializationError) {
      throw new SerializationError(
        error.message.replace(
          /^Cannot serialize the value/,
          `Cannot serialize ${description}`,
        ),
        { cause: error.cause ?? error },
      );
    }
    throw new SerializationError(
      `Cannot serialize ${description}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  if (typeof text !== "string") {
    // JSON.stringify(undefined) is undefined: storing that would make the
    // row unreadable later, so a custom serializer must say what it means.
    throw new SerializationError(
      `Cannot serialize ${describe()}: the serializer returned ${
        text === null ? "null" : typeof text
      }, not a string; make its serialize() return text for every value (JSON.stringify(undefined) returns undefined)`,
    );
  }
  return text;
}
