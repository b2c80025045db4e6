/**
 * Whether a value would come back from superjson as it went in: the walk
 * that `SuperJsonSerializer.serialize` runs before storing anything, and the
 * messages that name the bad part and what to do instead. The list of what
 * is refused and why is on `SuperJsonSerializer`'s doc.
 *
 * @module
 */
import type { SuperJSON } from "superjson";
import { SerializationError } from "./errors.ts";
import {
  ERROR_PROPERTIES,
  FLOAT_ARRAY_PROTOTYPES,
  isBuiltInSupported,
  keepsFloatSpecials,
  SUPPORTED_PROTOTYPES,
} from "./superjson_support.ts";

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
 * The storability check of one superjson instance (its registered classes
 * and allowed error properties decide what passes).
 */
export class StorableCheck {
  readonly #superjson: SuperJSON;
  /** Whether this superjson keeps NaN, ±Infinity and -0 in float arrays; probed once. */
  #floatSpecialsKept: boolean | undefined;

  /** @param superjson The instance whose registry and options decide. */
  constructor(superjson: SuperJSON) {
    this.#superjson = superjson;
  }

  /**
   * Throws unless `value` would come back from superjson as it went in;
   * otherwise returns whether it is plain JSON (no Date, Map, undefined,
   * NaN, repeated reference, ...), which `JSON.stringify` can write alone.
   *
   * @throws {SerializationError} "Cannot serialize the value at <path>: it
   * is <what>; <fix>", for the first part that would not survive.
   */
  check(value: unknown): boolean {
    return this.#scan(value, [], new Set());
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
