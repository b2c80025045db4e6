/**
 * Turning arguments and results into text and back.
 *
 * @module
 */
import { SuperJSON } from "superjson";
import { SerializationError } from "./errors.ts";
import { describeShape, loneSurrogateIndex } from "./validate.ts";

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
    // Inherited from a prototype object that is itself plain.
    if (value.constructor === Object) {
      return "an object made by Object.create(prototype), whose prototype would not come back";
    }
    const name = value.constructor?.name;
    if (Array.isArray(value)) {
      return `an instance of ${name} (a subclass of Array), which would come back as a plain array; pass Array.from(value)`;
    }
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

const FLOAT_ARRAY_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  Float32Array.prototype,
  Float64Array.prototype,
]);

/** Own properties superjson keeps on an `Error`, besides `allowErrorProps`. */
const ERROR_PROPERTIES: ReadonlySet<string> = new Set([
  "name",
  "message",
  "cause",
  "stack",
]);

function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((key) => typeof key === "number" ? `[${key}]` : `.${key}`)
    .join("");
}

/**
 * Why a value cannot be stored faithfully: a description of what it is and
 * what would happen to it, then what to do instead.
 */
interface Refusal {
  /** "it is X, which would ..." without the leading "it is". */
  what: string;
  /** What to do instead. */
  fix: string;
}

const PLAIN_DATA_FIX =
  "pass plain data (objects, arrays, Date, Map, Set, bigint, Uint8Array) or register the class on a SuperJSON instance given to SuperJsonSerializer";

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
  /** Whether this superjson keeps NaN, ±Infinity and -0 in float arrays; probed once. */
  #floatSpecialsKept: boolean | undefined;

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
  }

  /**
   * Serializes `value` after checking it holds nothing superjson would lose
   * or change.
   *
   * @throws {SerializationError} For anything listed as refused on
   * {@linkcode SuperJsonSerializer}, or that superjson itself rejects.
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
   * Walks `value`, refusing what superjson would lose or change, and reports
   * whether it is plain JSON (no Date, Map, undefined, NaN, repeated
   * reference, ...). `path` is a stack of keys, joined only when a value is
   * refused.
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
        throw this.#refuse(value, path);
      case "object":
        break;
      default: // undefined, bigint
        return false;
    }
    if (value === null) return true;
    if (seen.has(value)) return false; // superjson records the identity
    seen.add(value);
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (Array.isArray(value)) {
      return this.#scanArray(value, prototype, path, seen);
    }
    if (prototype === Object.prototype || prototype === null) {
      return this.#scanProperties(value, path, seen);
    }
    if (prototype === Map.prototype) {
      this.#refuseNamedProperties(value, path, "Map");
      for (const [key, item] of value as Map<unknown, unknown>) {
        this.#visit(path, "<key>", key, seen);
        this.#visit(path, `get(${String(key)})`, item, seen);
      }
      return false;
    }
    if (prototype === Set.prototype) {
      this.#refuseNamedProperties(value, path, "Set");
      for (const item of value as Set<unknown>) {
        this.#visit(path, "<item>", item, seen);
      }
      return false;
    }
    if (prototype === Error.prototype) {
      this.#scanError(value as Error, path, seen);
      return false;
    }
    if (isBuiltInSupported(value, prototype)) {
      this.#checkBuiltIn(value, prototype, path);
      return false;
    }
    type Registered = Parameters<
      SuperJSON["classRegistry"]["getIdentifier"]
    >[0];
    const constructor = (prototype as { constructor: Registered }).constructor;
    const registry = this.#superjson.classRegistry;
    if (registry.getIdentifier(constructor) === undefined) {
      throw this.#refuse(value, path);
    }
    const allowed = registry.getAllowedProps(constructor);
    if (allowed === undefined) this.#scanProperties(value, path, seen);
    else {
      // The class was registered with allowProps: superjson stores only
      // those, by the user's choice.
      for (const key of allowed) {
        this.#visit(path, key, (value as Record<string, unknown>)[key], seen);
      }
    }
    return false;
  }

  /** Scans `item` under `key`; returns whether it is plain JSON. */
  #visit(
    path: Array<string | number>,
    key: string | number,
    item: unknown,
    seen: Set<object>,
  ): boolean {
    path.push(key);
    const plain = this.#scan(item, path, seen);
    path.pop();
    return plain;
  }

  #scanArray(
    array: unknown[],
    prototype: object | null,
    path: Array<string | number>,
    seen: Set<object>,
  ): boolean {
    // A subclass comes back as a plain array. (An array from another realm
    // has another Array.prototype, not a subclass of this one: kept.)
    if (prototype !== Array.prototype && array instanceof Array) {
      throw this.#refuse(array, path);
    }
    let plain = true;
    let present = 0;
    // forEach skips holes, so counting what it visits finds them cheaply.
    array.forEach((item, index) => {
      present++;
      // Primitives, most of any large array, need no path or recursion.
      switch (typeof item) {
        case "string":
        case "boolean":
          return;
        case "number":
          if (!Number.isFinite(item) || Object.is(item, -0)) plain = false;
          return;
      }
      if (!this.#visit(path, index, item, seen)) plain = false;
    });
    if (present !== array.length) {
      let hole = 0;
      while (hole in array) hole++;
      path.push(hole);
      throw this.#refuse(undefined, path, {
        what:
          "a hole in a sparse array (an index with no element), which would come back as null",
        fix:
          "fill it with undefined or null (Array.from(array) turns holes into undefined)",
      });
    }
    return plain;
  }

  /**
   * Scans the own properties of a plain object (or a registered class's
   * instance): only enumerable string-keyed ones are stored, so any other
   * is refused rather than dropped.
   */
  #scanProperties(
    value: object,
    path: Array<string | number>,
    seen: Set<object>,
  ): boolean {
    const keys = Object.keys(value);
    if (Object.getOwnPropertyNames(value).length !== keys.length) {
      const hidden = Object.getOwnPropertyNames(value).find((key) =>
        !Object.prototype.propertyIsEnumerable.call(value, key)
      )!;
      path.push(hidden);
      throw this.#refuse(undefined, path, {
        what: "a non-enumerable property, which would not be stored",
        fix:
          "make it enumerable, or copy the values you need into a plain object",
      });
    }
    const [symbol] = Object.getOwnPropertySymbols(value);
    if (symbol !== undefined) {
      throw this.#refuse(undefined, path, {
        what: `an object with a property keyed by ${
          String(symbol)
        }, which would not be stored`,
        fix: "use a string key, or a Map",
      });
    }
    if (Object.hasOwn(value, "__proto__")) {
      path.push("__proto__");
      throw this.#refuse(undefined, path, {
        what:
          "an own property named __proto__, which superjson refuses (it could set an object's prototype when read back)",
        fix: "rename the key, or use a Map",
      });
    }
    let plain = true;
    for (const key of keys) {
      const item = (value as Record<string, unknown>)[key];
      if (!this.#visit(path, key, item, seen)) plain = false;
    }
    return plain;
  }

  /**
   * Refuses named properties added to a built-in (`map.tag = 1`): superjson
   * stores only the built-in's contents.
   */
  #refuseNamedProperties(
    value: object,
    path: Array<string | number>,
    kind: string,
    allowed?: ReadonlySet<string>,
  ): void {
    const extra = Object.keys(value).find((key) => !allowed?.has(key));
    if (extra === undefined) return;
    path.push(extra);
    throw this.#refuse(undefined, path, {
      what: `a property added to a ${kind}, which would not be stored`,
      fix:
        `store it next to the ${kind} instead, e.g. { ${kind.toLowerCase()}, ${extra} }`,
    });
  }

  #scanError(
    error: Error,
    path: Array<string | number>,
    seen: Set<object>,
  ): void {
    const allowed = new Set([
      ...ERROR_PROPERTIES,
      ...this.#superjson.allowedErrorProps,
    ]);
    const extra = Object.keys(error).find((key) => !allowed.has(key));
    if (extra !== undefined) {
      path.push(extra);
      throw this.#refuse(undefined, path, {
        what:
          "a property of an Error that superjson does not store (it keeps name, message and cause)",
        fix: `allow it with superjsonInstance.allowErrorProps(${
          JSON.stringify(extra)
        }) on the instance given to SuperJsonSerializer, or pass the fields as plain data`,
      });
    }
    if ("cause" in error) this.#visit(path, "cause", error.cause, seen);
    for (const key of this.#superjson.allowedErrorProps) {
      this.#visit(
        path,
        key,
        (error as unknown as Record<string, unknown>)[key],
        seen,
      );
    }
  }

  /** Checks a supported built-in other than Map, Set and Error. */
  #checkBuiltIn(
    value: object,
    prototype: object | null,
    path: Array<string | number>,
  ): void {
    if (prototype === Date.prototype) {
      this.#refuseNamedProperties(value, path, "Date");
    } else if (prototype === RegExp.prototype) {
      this.#refuseNamedProperties(value, path, "RegExp");
      const { lastIndex } = value as RegExp;
      if (lastIndex !== 0) {
        throw this.#refuse(undefined, path, {
          what:
            `a RegExp whose lastIndex is ${lastIndex} (where its next search starts), which would come back as 0`,
          fix: "set lastIndex to 0 first, or pass the position separately",
        });
      }
    } else if (FLOAT_ARRAY_PROTOTYPES.has(prototype as object)) {
      this.#checkFloats(value as Float64Array | Float32Array, path);
    }
  }

  /** Refuses NaN, ±Infinity and -0 in a float array if superjson loses them. */
  #checkFloats(
    array: Float64Array | Float32Array,
    path: Array<string | number>,
  ): void {
    let index = -1;
    for (let i = 0; i < array.length; i++) {
      const item = array[i]!;
      if (!Number.isFinite(item) || Object.is(item, -0)) {
        index = i;
        break;
      }
    }
    if (index === -1) return;
    this.#floatSpecialsKept ??= keepsFloatSpecials(this.#superjson);
    if (this.#floatSpecialsKept) return;
    path.push(index);
    throw this.#refuse(undefined, path, {
      what: `${
        String(array[index])
      } in a ${array.constructor.name}, which this version of superjson stores as 0`,
      fix:
        "pass Array.from(typedArray), a plain array, where NaN, Infinity and -0 are kept (or upgrade superjson to 2.2.7 or later)",
    });
  }

  #refuse(
    value: unknown,
    path: ReadonlyArray<string | number>,
    refusal?: Refusal,
  ): SerializationError {
    const where = path.length === 0 ? "" : ` at ${formatPath(path)}`;
    const { what, fix } = refusal ?? {
      what: `${describeValue(value)}, which would not survive storage`,
      fix: PLAIN_DATA_FIX,
    };
    return new SerializationError(
      `Cannot serialize the value${where}: it is ${what}; ${fix}`,
    );
  }
}

function isBuiltInSupported(value: object, prototype: object | null): boolean {
  if (prototype === null || !SUPPORTED_PROTOTYPES.has(prototype)) return false;
  // superjson writes an invalid Date as null.
  return prototype !== Date.prototype ||
    !Number.isNaN((value as Date).getTime());
}

/** Whether `superjson` brings NaN, ±Infinity and -0 back in a Float64Array. */
function keepsFloatSpecials(superjson: SuperJSON): boolean {
  const specials = [Number.NaN, Infinity, -Infinity, -0];
  try {
    const back = superjson.parse(
      superjson.stringify(new Float64Array(specials)),
    );
    return back instanceof Float64Array &&
      specials.every((item, index) => Object.is(back[index], item));
  } catch {
    return false;
  }
}

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
