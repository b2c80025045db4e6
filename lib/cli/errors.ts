/**
 * The CLI's exit codes and how an error becomes one line on stderr. Scripts
 * branch on the exit code; people read the line, which ends with the typed
 * error's `code` (`[TASK_NOT_FOUND]`) so that it can be searched for.
 *
 * @module
 */
import { DatabaseError } from "../core/errors.ts";

/**
 * The exit codes of `sitq`, stable for scripts:
 * - `0` OK: the command did what it was asked.
 * - `1` ERROR: anything not listed below (a worker module's setup that
 *   throws, an unexpected failure).
 * - `2` USAGE: unknown command or option, a missing or invalid argument
 *   (also sitq's own `TypeError`/`RangeError` input checks), a worker
 *   module that cannot be imported or breaks the contract.
 * - `3` NOT_FOUND: no task with that id, no schedule of that name, no
 *   database file or worker module at that path.
 * - `4` INVALID_STATE: the task is not in a state the command applies to
 *   (cancel a completed task, retry a queued one), or a unique key clash.
 * - `5` DATABASE: the database cannot be opened, reached or migrated, or
 *   its driver (`pg`) is not installed.
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  INVALID_STATE: 4,
  DATABASE: 5,
} as const;

/** One of {@linkcode EXIT}'s values. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/** An error the CLI itself raises, with the exit code it ends with. */
export class CliError extends Error {
  /** The process's exit code. */
  readonly exitCode: ExitCode;
  /** A stable code shown after the message, like a `SitqError`'s. */
  readonly code: string;

  /**
   * @param message One line for people.
   * @param exitCode The exit code.
   * @param code A stable code: "USAGE", "NOT_FOUND", "DATABASE"...
   */
  constructor(message: string, exitCode: ExitCode, code: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** The `code` of a sitq error (or of anything with a string code). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The exit code `error` ends the process with: by a `CliError`'s own code,
 * a sitq error's `code`, or a `TypeError`/`RangeError` (sitq's input
 * checks) as a usage error.
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  const code = codeOf(error);
  if (code === "TASK_NOT_FOUND") return EXIT.NOT_FOUND;
  if (code === "INVALID_STATE" || code === "DUPLICATE_KEY") {
    return EXIT.INVALID_STATE;
  }
  if (error instanceof DatabaseError) return EXIT.DATABASE;
  if (error instanceof TypeError || error instanceof RangeError) {
    return EXIT.USAGE;
  }
  return EXIT.ERROR;
}

/**
 * The line printed for `error`: `sitq: <message> [CODE]`, with the stack
 * (and causes) below it only when `verbose`.
 */
export function describeError(error: unknown, verbose: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  // One line: yargs' usage messages span several ("Unknown argument: x",
  // "Did you mean y?").
  const oneLine = message.split("\n").map((line) => line.trim())
    .filter((line) => line !== "").join("; ");
  const firstLine = `sitq: ${oneLine}${code === undefined ? "" : ` [${code}]`}`;
  if (!verbose) return firstLine;
  const lines = [firstLine];
  let current: unknown = error;
  while (current instanceof Error) {
    if (current.stack !== undefined) lines.push(current.stack);
    current = current.cause;
    if (current !== undefined) lines.push("caused by:");
  }
  return lines.join("\n");
}
