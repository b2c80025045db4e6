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
