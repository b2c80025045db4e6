/**
 * The worker's `threads` option: the pool's size, each thread's memory
 * limits and the serializer module the threads load, and their checks.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import {
  checkInteger,
  checkOptions,
  optionKeys,
  show,
} from "../../core/validate.ts";
import { parseModuleUrl } from "./thread_handler.ts";

/**
 * Memory limits of each pool thread, in megabytes, as
 * `node:worker_threads` takes them. Enforced by Node; see
 * {@linkcode ThreadPoolOptions.resourceLimits} for Bun and Deno.
 */
export interface ThreadResourceLimits {
  /** The main heap's limit; past it the thread dies out of memory. */
  maxOldGenerationSizeMb?: number;
  /** The heap space for new objects. */
  maxYoungGenerationSizeMb?: number;
  /** The space for generated code. */
  codeRangeSizeMb?: number;
  /** The thread's stack. @default {4} */
  stackSizeMb?: number;
}

/**
 * How a worker runs the tasks whose handlers live in a module
 * (`threadModule(url).handler(name)`): in a pool of `node:worker_threads`
 * threads, one attempt per thread at a time. Threads start when an attempt
 * needs one and none is free, up to `size`; an attempt that finds every
 * thread busy waits for one (its timeout runs meanwhile, so keep the
 * worker's `concurrency` at or below `size` for thread tasks). A thread
 * whose attempt timed out, was interrupted or lost its lease is terminated;
 * one that died is dropped; either way the next attempt gets a fresh one.
 * The threads end when the worker stops.
 *
 * @example Two threads of at most 256 MB each
 * ```ts
 * import type { ThreadPoolOptions } from "sitq";
 *
 * const threads: ThreadPoolOptions = {
 *   size: 2,
 *   resourceLimits: { maxOldGenerationSizeMb: 256 },
 * };
 * console.log(threads.size); // 2
 * ```
 */
export interface ThreadPoolOptions {
  /**
   * The most threads at once.
   *
   * @default {the number of cores: os.availableParallelism()}
   */
  size?: number;
  /**
   * Each thread's memory limits. A thread that exceeds them dies and only
   * its attempt fails, with a `ThreadError` coded `THREAD_OUT_OF_MEMORY`,
   * on Node. Bun does not enforce them (a warning is logged at the
   * worker's start); on Deno an out-of-memory thread stops without telling
   * the worker, so its attempt ends at its `timeout`: give such tasks one.
   *
   * @default {the runtime's own limits}
   */
  resourceLimits?: ThreadResourceLimits;
  /**
   * The module whose default export is the threads' serializer: a `URL`,
   * a URL string or an absolute path. Threads cannot share the worker's
   * serializer object, so they load one: by default a new
   * `SuperJsonSerializer()`. Give this when the worker uses another
   * serializer, or a `SuperJsonSerializer` around a SuperJSON instance
   * with registered classes; it must write and read the same text as the
   * worker's. Required when a worker with a serializer other than a
   * `SuperJsonSerializer` runs thread tasks.
   *
   * @default {a new SuperJsonSerializer() in each thread}
   */
  serializer?: URL | string;
}

/** {@linkcode ThreadPoolOptions} with the defaults filled in. */
export interface ResolvedThreadOptions {
  size: number;
  resourceLimits: ThreadResourceLimits | undefined;
  /** The serializer module's URL, if one was given. */
  serializer: string | undefined;
}

const POOL_KEYS = optionKeys<ThreadPoolOptions>({
  size: true,
  resourceLimits: true,
  serializer: true,
});

const LIMIT_KEYS = optionKeys<ThreadResourceLimits>({
  maxOldGenerationSizeMb: true,
  maxYoungGenerationSizeMb: true,
  codeRangeSizeMb: true,
  stackSizeMb: true,
});

/**
 * Throws a TypeError or RangeError naming the first bad option of
 * `threads`, with `action` ("create Worker") at the head of the message.
 */
export function checkThreadOptions(threads: unknown, action: string): void {
  checkOptions(threads, POOL_KEYS, `${action} with 'threads'`);
  if (threads === undefined) return;
  const { size, resourceLimits, serializer } = threads as ThreadPoolOptions;
  if (size !== undefined) checkInteger(size, action, "threads.size", 1);
  if (resourceLimits !== undefined) {
    const limitsAction = `${action} with 'threads.resourceLimits'`;
    checkOptions(resourceLimits, LIMIT_KEYS, limitsAction);
    for (const [key, value] of Object.entries(resourceLimits)) {
      if (value === undefined) continue;
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
        throw new RangeError(
          `Cannot ${action} as 'threads.resourceLimits.${key}' must be a positive number of megabytes: current value is ${
            show(value)
          }`,
        );
      }
    }
  }
  if (serializer !== undefined && parseModuleUrl(serializer) === undefined) {
    throw new TypeError(
      `Cannot ${action} as 'threads.serializer' must be the URL or absolute path of a module whose default export is the serializer, e.g. new URL("./serializer.ts", import.meta.url): current value is ${
        show(serializer)
      }`,
    );
  }
}

/** `threads` (already checked) with its defaults. */
export function resolveThreadOptions(
  threads: ThreadPoolOptions | undefined,
): ResolvedThreadOptions {
  return {
    size: threads?.size ?? availableParallelism(),
    resourceLimits: threads?.resourceLimits === undefined
      ? undefined
      : { ...threads.resourceLimits },
    serializer: parseModuleUrl(threads?.serializer),
  };
}
