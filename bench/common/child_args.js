/**
 * Command-line flags of a bench child process: `--key value` pairs and bare
 * `--flag`s. Kept tiny because children only receive what the orchestrator
 * passes them.
 *
 * @module
 */
import process from "node:process";

/**
 * Parses `process.argv` after the script name.
 *
 * @param {string[]} [argv] Defaults to this process's arguments.
 * @returns {Record<string, string>} Bare flags map to `"true"`.
 */
export function parseChildArgs(argv = process.argv.slice(2)) {
  /** @type {Record<string, string>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) {
      out[arg.slice(2)] = "true";
    } else {
      out[arg.slice(2)] = next;
      i++;
    }
  }
  return out;
}

/**
 * Reads a positive integer flag.
 *
 * @param {Record<string, string>} args
 * @param {string} key
 * @param {number} fallback
 * @returns {number}
 */
export function intArg(args, key, fallback) {
  const raw = args[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`--${key} must be a positive integer, got ${raw}`);
  }
  return n;
}
