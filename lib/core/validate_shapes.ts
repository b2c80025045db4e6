/**
 * Checks for objects and functions given as options (a backend, a
 * serializer, a clock, a logger, an abort signal): that each has the
 * members sitq will call, checked when it is given rather than when it is
 * first used, where a wrong shape would fail with an error that blames
 * something else. Messages read like `validate.ts`'s, and name the usual
 * wrong shapes (Python's `dumps`/`loads`, a bare `JSON`, a function where an
 * object was expected).
 *
 * @module
 */
import { show } from "./validate.ts";

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

/** The collaborators `TaskQueue` and `Worker` both accept, shape-checked alike. */
export interface SharedInputs {
  /** A `Serializer`, when given. */
  serializer?: unknown;
  /** A `Clock`, when given. */
  clock?: unknown;
  /** A `Logger`, when given (the queue takes none; its key check refuses it). */
  logger?: unknown;
}

/**
 * Checks the shapes of the serializer, clock and logger given to
 * `new TaskQueue` or `new Worker`, with {@linkcode checkSerializer},
 * {@linkcode checkClock} and {@linkcode checkLogger}; absent ones pass.
 *
 * @throws {TypeError} Naming the first option of the wrong shape.
 */
export function checkSharedInputs(options: SharedInputs, action: string): void {
  if (options.serializer !== undefined) {
    checkSerializer(options.serializer, action);
  }
  if (options.clock !== undefined) checkClock(options.clock, action);
  if (options.logger !== undefined) checkLogger(options.logger, action);
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
