/**
 * Making something useful of whatever a handler throws.
 *
 * @module
 */
function describeThrown(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // Cyclic or otherwise unstringifiable: fall through to String().
  }
  return String(value);
}

/**
 * Returns `value` if it is an `Error`, or an `Error` whose message describes
 * the thrown value (`throw "boom"`, `throw { code: 1 }`, `throw undefined`).
 *
 * @example
 * ```ts
 * import { coerceError } from "sitq";
 *
 * console.log(coerceError("boom").message); // "Non-Error thrown: boom"
 * ```
 */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const error = new Error(`Non-Error thrown: ${describeThrown(value)}`);
  error.name = "NonErrorThrown";
  return error;
}
