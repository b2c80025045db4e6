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

/** The signals that ask a process to shut down. */
export type ShutdownSignal = "SIGINT" | "SIGTERM";

/**
 * Calls `listener` with the signal's name on SIGINT or SIGTERM; returns a
 * function that removes it (safe to call more than once). While installed,
 * the signals no longer end the process by themselves; once removed, they
 * do again. A signal the platform cannot listen for (Deno on Windows has no
 * SIGTERM) is skipped rather than failing the caller.
 *
 * `listener` must not throw: a throw inside a signal listener crashes Node
 * and Deno and is lost on Bun, at the moment a process is trying to stop.
 */
export function onShutdownSignal(
  listener: (signal: ShutdownSignal) => void,
): () => void {
  const signals: ShutdownSignal[] = ["SIGINT", "SIGTERM"];
  const deno = (globalThis as { Deno?: DenoSignals }).Deno;
  const process = (globalThis as { process?: SignalProcess }).process;
  const remove: Array<() => void> = [];
  for (const signal of signals) {
    const onSignal = () => listener(signal);
    try {
      if (deno !== undefined) {
        deno.addSignalListener(signal, onSignal);
        remove.push(() => deno.removeSignalListener(signal, onSignal));
      } else if (process !== undefined) {
        process.on(signal, onSignal);
        remove.push(() => process.off(signal, onSignal));
      }
    } catch {
      // Not supported here; the other signal still stops the worker.
    }
  }
  return () => {
    for (const undo of remove.splice(0)) undo();
  };
}

/** This process's id where the runtime exposes one. */
export function processId(): number | undefined {
  const deno = (globalThis as { Deno?: { pid?: number } }).Deno;
  if (deno?.pid !== undefined) return deno.pid;
  return (globalThis as { process?: { pid?: number } }).process?.pid;
}
