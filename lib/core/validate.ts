/**
 * Checks for options, shared so every message reads the same way:
 * "Cannot <action> as '<option>' must be <rule>: current value is <value>".
 * Here: numbers, durations, dates, options objects and their keys, and
 * strings kept as identities; objects and functions given as options (a
 * serializer, a clock, a logger, a signal) are `validate_shapes.ts`.
 *
 * @module
 */

/** How a value given as an option reads in a message. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) return `Date(${value.getTime()})`;
  return String(value);
}

/** Throws a TypeError/RangeError unless `value` is an integer >= `min`. */
export function checkInteger(
  value: unknown,
  action: string,
  option: string,
  min: number,
): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a number: current value is ${
        show(value)
      }`,
    );
  }
  if (!Number.isSafeInteger(value) || value < min) {
    // With the lowest safe integer as `min` the bound says nothing a reader
    // can use ("an integer >= -9007199254740991"); the rule is "safe".
    const rule = min <= Number.MIN_SAFE_INTEGER
      ? "a safe integer (between -(2^53 - 1) and 2^53 - 1)"
      : `an integer >= ${min}`;
    throw new RangeError(
      `Cannot ${action} as '${option}' must be ${rule}: current value is ${
        show(value)
      }`,
    );
  }
}

/** Throws unless `value` is a finite number of milliseconds >= `min`. */
export function checkDuration(
  value: unknown,
  action: string,
  option: string,
  min = 0,
): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a number of milliseconds: current value is ${
        show(value)
      }`,
    );
  }
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(
      `Cannot ${action} as '${option}' must be a finite number of milliseconds >= ${min}: current value is ${
        show(value)
      }`,
    );
  }
}

/**
 * The longest delay JavaScript timers honour (2^31 - 1 ms, about 24.8 days);
 * Bun, Deno and Node all turn a longer one into about 1 ms.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Like {@linkcode checkDuration}, for a duration that becomes a timer: also
 * refuses what a timer would silently shorten to 1 ms.
 */
export function checkTimerDuration(
  value: unknown,
  action: string,
  option: string,
  min = 0,
): void {
  checkDuration(value, action, option, min);
  if ((value as number) > MAX_TIMER_MS) {
    throw new RangeError(
      `Cannot ${action} as '${option}' must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer JavaScript runtimes support: current value is ${
        show(value)
      }`,
    );
  }
}

/** Throws unless `value` is a valid `Date`. */
export function checkDate(
  value: unknown,
  action: string,
  option: string,
): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a valid Date: current value is ${
        show(value)
      }`,
    );
  }
}

/** Throws unless `value` is a plain options object (or undefined). */
export function checkOptionsObject(value: unknown, action: string): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `Cannot ${action} as the options must be an object: current value is ${
        show(value)
      }`,
    );
  }
}

/**
 * The key list of an options type, written once: the object must name every
 * key of `T` and nothing else, so a key added to the interface without being
 * listed here (or listed but not in the interface) is a compile error, and
 * {@linkcode checkKnownKeys} can never drift from the type it checks.
 *
 * @example
 * ```ts ignore
 * const KEYS = optionKeys<{ a?: number; b?: string }>({ a: true, b: true });
 * ```
 */
export function optionKeys<T>(
  keys: { readonly [K in keyof Required<T>]: true },
): readonly string[] {
  return Object.keys(keys);
}

/** Throws unless every key of `options` is one of `known`, naming the typo. */
export function checkKnownKeys(
  options: object | undefined,
  known: readonly string[],
  action: string,
): void {
  if (options === undefined) return;
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot ${action} as '${key}' is not an option; known options are ${
          known.join(", ")
        }`,
      );
    }
  }
}

/**
 * Throws a TypeError if an option of `options` is `null`. sitq's rule for
 * `null`, the same for every option of every public method: it is a wrong
 * value like any other, never "not given" (only a left-out option, or one set
 * to `undefined`, takes its default). Checked here, once for every options
 * object, so that no option can fall back silently (`limit ?? 100`) or
 * reach the database as a value (`status: null` became SQL `IN (?)` with
 * nothing bound) depending on how its own check happens to be written.
 */
export function checkNoNulls(
  options: object | undefined,
  action: string,
): void {
  if (options === undefined) return;
  for (const [key, value] of Object.entries(options)) {
    if (value === null) {
      throw new TypeError(
        `Cannot ${action} as '${key}' must not be null (leave an option out, or pass undefined, for its default): current value is null`,
      );
    }
  }
}

/**
 * The start of every options check: {@linkcode checkOptionsObject}, then
 * {@linkcode checkKnownKeys} against the type's `optionKeys` list, then
 * {@linkcode checkNoNulls}.
 */
export function checkOptions(
  options: unknown,
  known: readonly string[],
  action: string,
): void {
  checkOptionsObject(options, action);
  checkKnownKeys(options as object | undefined, known, action);
  checkNoNulls(options as object | undefined, action);
}

// ---- strings kept as identities -------------------------------------------

// A high surrogate not followed by a low one, or a low one not preceded by a
// high one. Without the `u` flag the pattern sees UTF-16 code units.
const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The index of the first lone surrogate in `text`, or -1 when it is
 * well-formed UTF-16 (what `String.prototype.isWellFormed` answers, which
 * Node 20 has but older runtimes lack). SQLite stores text as UTF-8, where a
 * lone surrogate cannot exist: drivers write U+FFFD instead, so such a
 * string would not read back as it was written.
 */
export function loneSurrogateIndex(text: string): number {
  return text.search(LONE_SURROGATE);
}

/**
 * Throws a RangeError unless `value` is well-formed Unicode, for strings sitq
 * stores as identities (task names, worker ids) that must read back exactly.
 */
export function checkWellFormed(
  value: string,
  action: string,
  option: string,
): void {
  const index = loneSurrogateIndex(value);
  if (index === -1) return;
  throw new RangeError(
    `Cannot ${action} as '${option}' must be well-formed Unicode, but it has a lone surrogate (\\u${
      value.charCodeAt(index).toString(16).toUpperCase()
    }) at index ${index}, which the database would store as U+FFFD: current value is ${
      JSON.stringify(value)
    }`,
  );
}
