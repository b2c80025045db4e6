/**
 * What every command gets besides its own options: where its output goes,
 * whether it prints JSON, and the global flags. Output goes through
 * `print`, so that a command never writes to stdout behind the caller's
 * back (tests and `--json` rely on stdout holding only the result).
 *
 * @module
 */
import process from "node:process";
import { type JsonValue, toJsonValue } from "./format.ts";

/** The global options every command takes. */
export interface GlobalOptions {
  /** The database: a path or URL (positional `db`, or `--db`). */
  db?: string;
  /** The PostgreSQL schema. */
  schema?: string;
  /** Print JSON for scripts instead of tables. */
  json?: boolean;
  /** Show stacks with errors. */
  verbose?: boolean;
  /** Draw progress bars (on by default when stdout is a TTY). */
  progress?: boolean;
}

/** A command's means of output. */
export interface CommandContext {
  /** Whether `--json` was given. */
  json: boolean;
  /** Whether `--verbose` was given. */
  verbose: boolean;
  /** Whether progress bars may be drawn (they also need a TTY). */
  progress: boolean;
  /** Writes a line (or lines) to stdout. */
  print(text: string): void;
  /** Writes `value` as one JSON document to stdout. */
  printJson(value: unknown): void;
  /** Writes a line to stderr (notes that are not the result). */
  note(text: string): void;
}

/** The context for `options`, writing to the process's stdout and stderr. */
export function contextOf(options: GlobalOptions): CommandContext {
  return {
    json: options.json === true,
    verbose: options.verbose === true,
    progress: options.progress !== false,
    print: (text) => void process.stdout.write(`${text}\n`),
    printJson: (value) =>
      void process.stdout.write(
        `${JSON.stringify(toJsonValue(value) as JsonValue, null, 2)}\n`,
      ),
    note: (text) => void process.stderr.write(`${text}\n`),
  };
}
