/**
 * What each runtime's `node:worker_threads` does with a thread's memory
 * limits (`resourceLimits`), so that the thread pool can say so without
 * naming runtimes itself. Measured on Bun 1.4, Deno 2.9 and Node 20-24.
 *
 * @module
 */
import { detectRuntime } from "./runtime.ts";

/**
 * How a runtime treats `resourceLimits`:
 * - `"enforced"` (Node): a thread past its limit dies, and its `error`
 *   event says it ran out of memory;
 * - `"ignored"` (Bun): the limits are accepted and not applied;
 * - `"silent"` (Deno): a thread past its limit stops running, with no
 *   `error` or `exit` event.
 */
export type MemoryLimitSupport = "enforced" | "ignored" | "silent";

/** How this runtime treats worker threads' `resourceLimits`. */
export function threadMemoryLimits(): MemoryLimitSupport {
  switch (detectRuntime()) {
    case "bun":
      return "ignored";
    case "deno":
      return "silent";
    default:
      return "enforced";
  }
}
