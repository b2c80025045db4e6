/**
 * The one place that knows which JavaScript runtime sitq runs on.
 *
 * The rest of sitq never says "bun", "deno" or "node": only the files of
 * `lib/runtime/` read `globalThis.Bun` / `globalThis.Deno` / `process`, and
 * only this file imports modules that exist on some runtimes alone. Its
 * sibling `process.ts` holds what a worker needs of its process (shutdown
 * signals, the process id).
 *
 * @module
 */

/** The runtimes sitq knows how to open SQLite on. */
export type RuntimeName = "bun" | "deno" | "node";

/**
 * Names the runtime this code is running on.
 *
 * Bun is tested first because Bun also implements `node:sqlite`, yet
 * `bun:sqlite` is its native, faster driver.
 */
export function detectRuntime(): RuntimeName {
  if ("Bun" in globalThis) return "bun";
  if ("Deno" in globalThis) return "deno";
  return "node";
}

/**
 * Loads a module that exists only on some runtimes.
 *
 * The specifier is a variable on purpose: a literal `import("bun:sqlite")`
 * makes type checkers, bundlers and Bun's own scanner try to resolve it on
 * runtimes that lack it. `deno publish` prints one
 * `unanalyzable-dynamic-import` warning for this line; that is expected.
 */
export function importRuntimeModule(specifier: string): Promise<unknown> {
  return import(specifier);
}
