/**
 * What a worker needs of the process it runs in: the signals that ask it to
 * shut down, and its id for default worker ids. Deno and Node (and Bun,
 * which implements Node's `process`) spell both differently; this file
 * reads whichever global the runtime has, so the worker never names one.
 *
 * @module
 */

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
