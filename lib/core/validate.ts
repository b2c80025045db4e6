/**
 * Checks for options, shared so every message reads the same way:
 * "Cannot <action> as '<option>' must be <rule>: current value is <value>".
 *
 * @module
 */

function show(value: unknown): string {
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
    throw new RangeError(
      `Cannot ${action} as '${option}' must be an integer >= ${min}: current value is ${
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

// ---- shapes of objects and functions given as options --------------------

/**
 * Names a value's members for a message: own and inherited properties up to
 * `Object.prototype`, so a class instance's methods count too.
 */
function memberNames(value: object): string[] {
  const names = new Set<string>();
  for (
    let level: object | null = value;
    level !== null && level !== Object.prototype &&
    level !== Function.prototype;
    level = Object.getPrototypeOf(level) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(level)) {
      if (key !== "constructor") names.add(key);
    }
  }
  return [...names];
}

/** How a value given where an object or function was expected reads in a message. */
export function describeShape(value: unknown): string {
  if (typeof value === "function") {
    return `a function (${value.name || "anonymous"})`;
  }
  if (typeof value !== "object" || value === null) return show(value);
  const names = memberNames(value);
  if (names.length === 0) return "an object with no members";
  const shown = names.slice(0, 8).join(", ");
  return `an object with ${shown}${names.length > 8 ? ", ..." : ""}`;
}

function hasFunction(value: unknown, name: string): boolean {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === "function";
}

function shapeError(
  action: string,
  option: string,
  shape: string,
  value: unknown,
  hint: string | undefined,
): TypeError {
  return new TypeError(
    `Cannot ${action} as '${option}' must be ${shape}: current value is ${
      describeShape(value)
    }${hint === undefined ? "" : `; ${hint}`}`,
  );
}

/**
 * Throws a TypeError unless `value` is an object whose members named in
 * `methods` are all functions. `shape` says in words what was expected;
 * `hint`, when it returns text, is appended to the message.
 */
export function checkMethods(
  value: unknown,
  action: string,
  option: string,
  methods: readonly string[],
  shape: string,
  hint?: (value: unknown) => string | undefined,
): void {
  const isObject = typeof value === "object" && value !== null;
  if (isObject && methods.every((name) => hasFunction(value, name))) return;
  throw shapeError(action, option, shape, value, hint?.(value));
}

/**
 * Throws a TypeError unless `value` is a `Serializer`: an object with
 * `serialize` and `deserialize` functions. The message recognises the usual
 * wrong shapes (Python's `dumps`/`loads`, a bare `JSON` or `SuperJSON`).
 */
export function checkSerializer(
  value: unknown,
  action: string,
  option = "serializer",
): void {
  const shape =
    "a Serializer: an object with serialize(value) => string and deserialize(text) => value functions, such as new SuperJsonSerializer()";
  // A SuperJSON instance has serialize and deserialize too, but its
  // serialize returns an object, not text.
  if (
    hasFunction(value, "stringify") && hasFunction(value, "parse") &&
    typeof (value as { classRegistry?: unknown }).classRegistry === "object"
  ) {
    throw shapeError(
      action,
      option,
      shape,
      value,
      "a SuperJSON instance's serialize() returns an object, not text: wrap it in new SuperJsonSerializer(instance)",
    );
  }
  checkMethods(
    value,
    action,
    option,
    ["serialize", "deserialize"],
    shape,
    (given) => {
      if (hasFunction(given, "dumps") || hasFunction(given, "loads")) {
        return "Python's dumps and loads are called serialize and deserialize here";
      }
      if (hasFunction(given, "stringify") && hasFunction(given, "parse")) {
        return "wrap it: new SuperJsonSerializer(superjsonInstance), or { serialize: (v) => JSON.stringify(v), deserialize: (t) => JSON.parse(t) }";
      }
      return undefined;
    },
  );
}

/**
 * Throws a TypeError unless `value` is a `Clock`: an object whose `now()`
 * returns milliseconds since the epoch as a finite number. `now()` is called
 * once to check what it returns (a clock that answers with a `Date` or a
 * string would otherwise turn run times into text).
 */
export function checkClock(
  value: unknown,
  action: string,
  option = "clock",
): void {
  checkMethods(
    value,
    action,
    option,
    ["now"],
    "a Clock: an object with a now() function returning milliseconds since the epoch, such as { now: () => Date.now() }",
    (given) =>
      typeof given === "function"
        ? "wrap the function: { now: yourFunction }"
        : undefined,
  );
  const now: unknown = (value as { now(): unknown }).now();
  if (typeof now !== "number" || !Number.isFinite(now)) {
    throw new TypeError(
      `Cannot ${action} as '${option}.now()' must return milliseconds since the epoch as a finite number: it returned ${
        show(now)
      }`,
    );
  }
}

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * Throws a TypeError unless `value` is a `Logger`: an object whose `debug`,
 * `info`, `warn` and `error` members are functions where present, with at
 * least one of them (an object with none would log nothing, silently).
 */
export function checkLogger(
  value: unknown,
  action: string,
  option = "logger",
): void {
  const shape =
    "a Logger: an object with debug, info, warn and/or error functions, such as console (leave it out for no logging)";
  if (typeof value !== "object" || value === null) {
    throw shapeError(
      action,
      option,
      shape,
      value,
      typeof value === "function"
        ? "pass an object such as console, not a single function"
        : undefined,
    );
  }
  const logger = value as Record<string, unknown>;
  for (const level of LOG_LEVELS) {
    const method = logger[level];
    if (method !== undefined && typeof method !== "function") {
      throw new TypeError(
        `Cannot ${action} as '${option}.${level}' must be a function when present: current value is ${
          show(method)
        }`,
      );
    }
  }
  if (!LOG_LEVELS.some((level) => typeof logger[level] === "function")) {
    throw shapeError(action, option, shape, value, undefined);
  }
}

/**
 * Throws a TypeError unless `value` is an `AbortSignal` (or has its shape:
 * `aborted`, `addEventListener`, `removeEventListener`, `throwIfAborted`).
 */
export function checkAbortSignal(
  value: unknown,
  action: string,
  option = "signal",
): void {
  const shape =
    "an AbortSignal, such as AbortSignal.timeout(5000) or controller.signal";
  checkMethods(
    value,
    action,
    option,
    ["addEventListener", "removeEventListener", "throwIfAborted"],
    shape,
  );
  if (typeof (value as { aborted?: unknown }).aborted !== "boolean") {
    throw shapeError(action, option, shape, value, "'aborted' is missing");
  }
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
