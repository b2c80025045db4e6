/**
 * The one place that knows which JavaScript runtime sitq runs on.
 *
 * The core never says "bun", "deno" or "node"; only this file reads
 * `globalThis.Bun` / `globalThis.Deno`, and only this file imports modules that
 * exist on some runtimes alone.
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

interface SignalProcess {
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
}

interface DenoSignals {
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
}

/**
 * Calls `listener` on SIGINT or SIGTERM; returns a function that removes it.
 * While installed, the signals no longer end the process by themselves.
 */
export function onShutdownSignal(listener: () => void): () => void {
  const signals = ["SIGINT", "SIGTERM"];
  const deno = (globalThis as { Deno?: DenoSignals }).Deno;
  if (deno !== undefined) {
    for (const signal of signals) deno.addSignalListener(signal, listener);
    return () => {
      for (const signal of signals) deno.removeSignalListener(signal, listener);
    };
  }
  const process = (globalThis as { process?: SignalProcess }).process;
  if (process === undefined) return () => {};
  for (const signal of signals) process.on(signal, listener);
  return () => {
    for (const signal of signals) process.off(signal, listener);
  };
}

/** This process's id where the runtime exposes one. */
export function processId(): number | undefined {
  const deno = (globalThis as { Deno?: { pid?: number } }).Deno;
  if (deno?.pid !== undefined) return deno.pid;
  return (globalThis as { process?: { pid?: number } }).process?.pid;
}
