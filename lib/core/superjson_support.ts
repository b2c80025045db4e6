/**
 * What the superjson in use keeps as it was: the built-in types it restores
 * (subclasses excluded), the `Error` properties it stores, and whether its
 * version keeps NaN, ±Infinity and -0 in float arrays. `storable.ts` asks
 * here before walking into a value.
 *
 * @module
 */
import type { SuperJSON } from "superjson";

/**
 * Exactly the built-ins superjson restores as they were. Subclasses are not
 * among them: superjson would hand back the base class (a Node Buffer comes
 * back as an error, a TypeError as a plain Error), so they are refused like
 * any unregistered class. DataView is not supported by superjson at all.
 */
export const SUPPORTED_PROTOTYPES: ReadonlySet<object> = new Set<object>([
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

/** The float typed arrays, whose NaN, ±Infinity and -0 older superjson loses. */
export const FLOAT_ARRAY_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  Float32Array.prototype,
  Float64Array.prototype,
]);

/** Own properties superjson keeps on an `Error`, besides `allowErrorProps`. */
export const ERROR_PROPERTIES: ReadonlySet<string> = new Set([
  "name",
  "message",
  "cause",
  "stack",
]);

/**
 * Whether `value`, whose prototype is `prototype`, is a built-in superjson
 * restores as it was.
 */
export function isBuiltInSupported(
  value: object,
  prototype: object | null,
): boolean {
  if (prototype === null || !SUPPORTED_PROTOTYPES.has(prototype)) return false;
  // superjson writes an invalid Date as null.
  return prototype !== Date.prototype ||
    !Number.isNaN((value as Date).getTime());
}

/** Whether `superjson` brings NaN, ±Infinity and -0 back in a Float64Array. */
export function keepsFloatSpecials(superjson: SuperJSON): boolean {
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
