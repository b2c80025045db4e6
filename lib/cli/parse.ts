/**
 * Turning command-line strings into what the API takes: task ids,
 * durations (`90s`, `7d`), dates, lists. Each throws a usage error (exit
 * code 2) that names the option and what it got.
 *
 * @module
 */
import { TASK_STATUSES } from "../core/statuses.ts";
import type { TaskStatus } from "../core/types.ts";
import { CliError, EXIT } from "./errors.ts";

function usage(message: string): CliError {
  return new CliError(message, EXIT.USAGE, "USAGE");
}

/**
 * A task id: a positive integer.
 *
 * @throws {CliError} USAGE otherwise.
 */
export function parseId(text: string | number): number {
  const value = typeof text === "number" ? text : Number(text);
  if (
    !Number.isSafeInteger(value) || value < 1 ||
    (typeof text === "string" && !/^[1-9][0-9]*$/.test(text.trim()))
  ) {
    throw usage(`not a task id: ${JSON.stringify(String(text))}`);
  }
  return value;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A duration in ms from `500ms`, `90s`, `15m`, `12h`, `7d`, `2w`, or a bare
 * number of ms.
 *
 * @throws {CliError} USAGE otherwise.
 */
export function parseDuration(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(text);
  if (match === null) {
    throw usage(
      `--${option} must be a duration such as 500ms, 90s, 15m, 12h, 7d: got ${
        JSON.stringify(text)
      }`,
    );
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]!);
}

/**
 * A date from an ISO 8601 string (`2026-01-31`, `2026-01-31T12:00:00Z`) or
 * epoch milliseconds.
 *
 * @throws {CliError} USAGE otherwise.
 */
export function parseDate(text: string, option: string): Date {
  const date = /^\d+$/.test(text) ? new Date(Number(text)) : new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw usage(
      `--${option} must be an ISO date or epoch ms: got ${
        JSON.stringify(text)
      }`,
    );
  }
  return date;
}

/**
 * The statuses of repeated or comma-separated `--status` options.
 *
 * @throws {CliError} USAGE for a name that is not a status.
 */
export function parseStatuses(
  values: readonly string[] | undefined,
): TaskStatus[] | undefined {
  const list = splitList(values);
  if (list === undefined) return undefined;
  for (const status of list) {
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      throw usage(
        `--status must be one of ${TASK_STATUSES.join(", ")}: got ${
          JSON.stringify(status)
        }`,
      );
    }
  }
  return list as TaskStatus[];
}

/** Repeated and comma-separated values as one list; undefined when none. */
export function splitList(
  values: readonly (string | number)[] | string | undefined,
): string[] | undefined {
  if (values === undefined) return undefined;
  const raw = Array.isArray(values) ? values : [values];
  const list = raw.flatMap((value) => String(value).split(","))
    .map((value) => value.trim()).filter((value) => value !== "");
  return list.length === 0 ? undefined : list;
}
