/**
 * When a schedule's slots fall: a cron expression (five or six fields, in
 * an IANA time zone) or a fixed interval, as epoch milliseconds. The one
 * place that talks to the cron library (`croner`): parsing, checking, and
 * the slots after or before an instant, correct across daylight-saving
 * changes (a wall-clock time skipped by a spring-forward change runs at
 * the first instant after the gap; one repeated by a fall-back change
 * runs once, at its first occurrence; hourly and finer expressions keep
 * firing every real hour).
 *
 * Interval slots are aligned on the epoch (`every: 60_000` falls on whole
 * minutes, UTC), so every process computes the same slots without
 * agreeing on a start.
 *
 * @module
 */
import { Cron } from "croner";
import { show } from "../core/validate.ts";

/** The slots of a schedule, in epoch ms. */
export interface Recurrence {
  /** The first slot strictly after `after`, or null when there is none. */
  next(after: number): number | null;
  /**
   * The newest `count` slots strictly before `before`, newest first (fewer
   * when the expression has fewer).
   */
  previous(count: number, before: number): number[];
}

/** The shortest `every`, in ms: shorter would flood the queue. */
export const MIN_EVERY_MS = 100;

/** The fields of a five-field expression, in order (six: `second` first). */
const FIELDS = ["minute", "hour", "day of month", "month", "day of week"];

/**
 * Thrown for a cron expression that cannot be parsed, or that never
 * fires: `expression` is what was given, `field` names the field at fault
 * (`"second"`, `"minute"`, `"hour"`, `"day of month"`, `"month"`, `"day of
 * week"`), absent when the fault is not one field's (the wrong number of
 * fields, no date ever matching).
 *
 * @example
 * ```ts
 * import { InvalidCronError, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const report = queue.task("report", () => {});
 * try {
 *   await queue.schedules.set("nightly", { task: report, args: [], cron: "0 25 * * *" });
 * } catch (error) {
 *   if (error instanceof InvalidCronError) console.log(error.field); // "hour"
 * }
 * await queue.close();
 * ```
 */
export class InvalidCronError extends RangeError {
  /** The expression as given. */
  readonly expression: string;
  /** The field at fault, when one is. */
  readonly field: string | undefined;

  /**
   * Made by sitq when it parses a schedule's `cron`.
   *
   * @param expression The expression as given.
   * @param field The field at fault, if one is.
   * @param reason What is wrong, in a clause.
   */
  constructor(expression: string, field: string | undefined, reason: string) {
    super(
      `Invalid cron expression ${JSON.stringify(expression)}: ${reason}`,
    );
    this.name = "InvalidCronError";
    this.expression = expression;
    this.field = field;
  }
}

/**
 * Throws unless `timezone` is an IANA time zone this runtime knows
 * (`"UTC"`, `"Europe/Berlin"`).
 *
 * @throws {TypeError} If it is not a string.
 * @throws {RangeError} If the runtime does not know it.
 */
export function checkTimezone(timezone: unknown, action: string): void {
  if (typeof timezone !== "string") {
    throw new TypeError(
      `Cannot ${action} as 'timezone' must be a string (an IANA time zone such as "Europe/Berlin"): current value is ${
        show(timezone)
      }`,
    );
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new RangeError(
      `Cannot ${action} as 'timezone' is not a time zone this runtime knows: current value is ${
        JSON.stringify(timezone)
      } (use an IANA name such as "Europe/Berlin" or "UTC")`,
    );
  }
}

function parse(expression: string, timezone: string): Cron {
  return new Cron(expression, { timezone, paused: true });
}

/**
 * Parses a cron expression of five fields (minute hour day-of-month month
 * day-of-week) or six (a second first), in `timezone`.
 *
 * @throws {InvalidCronError} Naming the field at fault and showing the
 * expression.
 */
export function cronRecurrence(
  expression: string,
  timezone: string,
): Recurrence {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new InvalidCronError(
      expression,
      undefined,
      `it has ${fields.length} field${
        fields.length === 1 ? "" : "s"
      }; give five (minute hour day-of-month month day-of-week) or six (a second first)`,
    );
  }
  const names = fields.length === 6 ? ["second", ...FIELDS] : FIELDS;
  let cron: Cron;
  try {
    cron = parse(expression, timezone);
  } catch (error) {
    // Find the field at fault: each alone, the others left as "*".
    for (const [index, field] of fields.entries()) {
      const alone = fields.map((f, i) => (i === index ? f : "*")).join(" ");
      try {
        parse(alone, "UTC");
      } catch {
        throw new InvalidCronError(
          expression,
          names[index],
          `the ${names[index]} field ${JSON.stringify(field)} is not valid (${
            (error as Error).message
          })`,
        );
      }
    }
    throw new InvalidCronError(
      expression,
      undefined,
      (error as Error).message,
    );
  }
  const recurrence: Recurrence = {
    next(after) {
      return cron.nextRun(new Date(after))?.getTime() ?? null;
    },
    previous(count, before) {
      return cron.previousRuns(count, new Date(before)).map((date) =>
        date.getTime()
      );
    },
  };
  if (recurrence.next(Date.now()) === null) {
    throw new InvalidCronError(
      expression,
      undefined,
      "no date ever matches it",
    );
  }
  return recurrence;
}

/** Slots every `every` ms, aligned on the epoch. */
export function everyRecurrence(every: number): Recurrence {
  return {
    next(after) {
      return (Math.floor(after / every) + 1) * every;
    },
    previous(count, before) {
      const slots: number[] = [];
      let slot = (Math.ceil(before / every) - 1) * every;
      for (let i = 0; i < count; i++, slot -= every) slots.push(slot);
      return slots;
    },
  };
}

/** What a stored schedule's slots are made of. */
export interface RecurrenceSpec {
  /** The cron expression, or null for an interval. */
  cron: string | null;
  /** The interval in ms, or null for a cron expression. */
  every: number | null;
  /** The cron expression's IANA time zone. */
  timezone: string;
}

/** The recurrence of `spec`. */
export function recurrenceOf(spec: RecurrenceSpec): Recurrence {
  return spec.cron !== null
    ? cronRecurrence(spec.cron, spec.timezone)
    : everyRecurrence(spec.every!);
}
