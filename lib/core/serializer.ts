/**
 * Turning arguments and results into text and back.
 *
 * @module
 */
import { SuperJSON } from "superjson";
import { SerializationError } from "./errors.ts";
import { StorableCheck } from "./storable.ts";
import { loneSurrogateIndex } from "./validate.ts";
import { describeShape } from "./validate_shapes.ts";

/**
 * Turns values into text for storage and back. The default is
 * {@linkcode SuperJsonSerializer}; pass another to `TaskQueue` and `Worker` to
 * change the format.
 *
 * `serialize` should throw for values it cannot represent faithfully rather
 * than store something else: a custom serializer owns its round trip. sitq
 * checks only that `serialize` returns a string of well-formed Unicode; the
 * refusals listed on {@linkcode SuperJsonSerializer} are that class's own.
 * With `JSON.stringify`/`JSON.parse`, a `Date` comes back as its ISO string,
 * `undefined` in an array as `null` and a `Map` as `{}`. sitq does not
 * round-trip every value to check it: that would take a deserialize and a
 * deep comparison per enqueue, result and progress report, more than the
 * serialization itself costs.
 *
 * A handler's `undefined` result never reaches the serializer: it is stored
 * as SQL NULL and read back as `undefined` ({@linkcode decodeResult}), so a
 * plain JSON serializer (whose `JSON.stringify(undefined)` is not a string)
 * works for handlers that return nothing.
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

/**
 * Serializes with superjson: JSON plus `Date`, `Map`, `Set`, `bigint`,
 * `undefined`, `RegExp`, `URL`, `Error`, typed arrays, `NaN`, `Infinity`,
 * `-0`, repeated and cyclic references, and classes registered on the given
 * superjson instance.
 *
 * A value is stored only if it comes back as it went in. Refused with a
 * {@linkcode SerializationError} naming the path to the bad part and what
 * to do instead:
 * - functions and symbols (superjson drops them);
 * - instances of unregistered classes, including subclasses of `Array`,
 *   `Error`, `Map`, typed arrays and the like (they would come back as the
 *   base class or a plain object), boxed primitives, `ArrayBuffer`,
 *   `DataView`, an invalid `Date`, and objects made by `Object.create(proto)`;
 * - holes in sparse arrays (`[1, , 3]` would come back as `[1, null, 3]`);
 * - symbol-keyed and non-enumerable own properties of objects (dropped), and
 *   an own property named `__proto__`;
 * - named properties on a `Map`, `Set`, `Date` or `RegExp` (dropped), a
 *   `RegExp` whose `lastIndex` is not 0, and an `Error`'s own properties
 *   other than `name`, `message`, `cause` and those allowed with
 *   `superjson.allowErrorProps`;
 * - `NaN`, `Infinity` and `-0` inside a `Float32Array` or `Float64Array`,
 *   where the installed superjson cannot keep them (before 2.2.7 they come
 *   back as 0).
 *
 * Kept, though not quite as they were: an object with a `null` prototype
 * comes back as a plain object; a getter's value is read once and stored as
 * a plain property; frozen and sealed objects come back unfrozen; an
 * `Error` comes back without its stack. Named (non-index) properties on an
 * array or typed array, such as `index` and `input` on a `RegExp` match,
 * are not stored (checking every array for them would cost more than
 * storing it).
 *
 * @example Round-trip a Map and a Date
 * ```ts
 * import { SuperJsonSerializer } from "sitq";
 *
 * const serializer = new SuperJsonSerializer();
 * const text = serializer.serialize([new Map([["at", new Date(0)]])]);
 * console.log(serializer.deserialize(text));
 * ```
 *
 * @example A sparse array is refused, naming the hole
 * ```ts
 * import { SerializationError, SuperJsonSerializer } from "sitq";
 *
 * try {
 *   new SuperJsonSerializer().serialize({ list: [1, , 3] });
 * } catch (error) {
 *   console.log(error instanceof SerializationError); // true: "... at .list[1]: it is a hole ..."
 * }
 * ```
 */
export class SuperJsonSerializer implements Serializer {
  readonly #superjson: SuperJSON;
  readonly #storable: StorableCheck;

  /**
   * Creates a serializer around a superjson instance.
   *
   * @param superjson The superjson instance to use; pass your own to register
   * classes (`instance.registerClass(Point)`).
   * @throws {TypeError} If `superjson` is not a SuperJSON instance (the
   * `SuperJSON` class itself, or the default export, is not one).
   */
  constructor(superjson: SuperJSON = new SuperJSON()) {
    checkSuperJson(superjson);
    this.#superjson = superjson;
    this.#storable = new StorableCheck(superjson);
  }

  /**
   * Serializes `value` after checking it holds nothing superjson would lose
   * or change.
   *
   * @throws {SerializationError} For anything listed as refused on
   * {@linkcode SuperJsonSerializer}, or that superjson itself rejects.
   */
  serialize(value: unknown): string {
    // A handler that returns nothing: superjson's text for `undefined`,
    // without its walk, unless a custom transformer would take it.
    if (
      value === undefined &&
      this.#superjson.customTransformerRegistry.findApplicable(value) ===
        undefined
    ) {
      return UNDEFINED_TEXT;
    }
    const plain = this.#storable.check(value);
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
}

/**
 * What superjson writes for `undefined` when no custom transformer applies
 * (registered classes and options do not change it).
 */
const UNDEFINED_TEXT = new SuperJSON().stringify(undefined);

/** Throws a TypeError unless `value` can be used as a SuperJSON instance. */
function checkSuperJson(value: unknown): void {
  const registry = (value as { classRegistry?: unknown } | null)
    ?.classRegistry;
  const shaped = typeof value === "object" && value !== null &&
    typeof (value as SuperJSON).stringify === "function" &&
    typeof (value as SuperJSON).parse === "function" &&
    Array.isArray((value as SuperJSON).allowedErrorProps) &&
    typeof (registry as { getIdentifier?: unknown } | undefined)
        ?.getIdentifier === "function";
  if (shaped) return;
  throw new TypeError(
    `Cannot create SuperJsonSerializer as 'superjson' must be a SuperJSON instance (new SuperJSON() from "superjson"): current value is ${
      describeShape(value)
    }${
      typeof value === "function"
        ? "; pass an instance, new SuperJSON(), not the class"
        : ""
    }`,
  );
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
  // The database keeps text as UTF-8, where a lone surrogate cannot exist:
  // it would read back as U+FFFD. JSON.stringify escapes them, so only
  // other serializers' text needs the check.
  if (!(serializer instanceof SuperJsonSerializer)) {
    const index = loneSurrogateIndex(text);
    if (index !== -1) {
      throw new SerializationError(
        `Cannot serialize ${describe()}: the serializer returned text with a lone surrogate at index ${index}, which the database would store as U+FFFD; make its serialize() escape such characters (JSON.stringify does) or refuse the value`,
      );
    }
  }
  return text;
}

/**
 * A stored result read back: `null` (what a handler's `undefined` is stored
 * as, see {@linkcode Serializer}) is `undefined`, any other text goes
 * through `serializer.deserialize`.
 *
 * @param serializer The queue's serializer.
 * @param text The `result` column of a completed task.
 * @returns The value the handler returned.
 * @throws Whatever `serializer.deserialize` throws for text it cannot read.
 *
 * @example
 * ```ts
 * import { decodeResult, SuperJsonSerializer } from "./serializer.ts";
 *
 * const serializer = new SuperJsonSerializer();
 * console.log(decodeResult(serializer, null)); // undefined
 * console.log(decodeResult(serializer, serializer.serialize(42))); // 42
 * ```
 */
export function decodeResult(
  serializer: Serializer,
  text: string | null,
): unknown {
  return text === null ? undefined : serializer.deserialize(text);
}
