/**
 * The executor's way into the thread pool: one claimed attempt in, its
 * result (the thread's serialized text, and the value it reads back as) or
 * its error out. The executor keeps everything else as for a handler on
 * the event loop (the timeout, the decided outcome, the retry), and stops
 * the thread through the attempt's signal: whatever aborts it (timeout,
 * stop deadline, lost lease) terminates the thread.
 *
 * @module
 */
import { coerceError } from "../../core/coerce_error.ts";
import { PermanentError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import {
  decodeResult,
  type Serializer,
  SuperJsonSerializer,
} from "../../core/serializer.ts";
import {
  type MemoryLimitSupport,
  threadMemoryLimits,
} from "../../runtime/thread_support.ts";
import type { FencingToken } from "../../storage/backend.ts";
import type { Attempt } from "../executor.ts";
import type { AnyTask } from "../types.ts";
import { rebuildStored } from "./messages.ts";
import type { ResolvedThreadOptions } from "./options.ts";
import { ThreadFailure, ThreadPool } from "./pool.ts";
import { type ThreadHandlerSource, threadSourceOf } from "./thread_handler.ts";

/** What the runner needs from the worker around it. */
export interface ThreadRunnerOptions {
  /** The pool's settings, defaults filled in. */
  threads: ResolvedThreadOptions;
  /** The worker's id: the context's `workerId`, the progress token's owner. */
  workerId: string;
  /** The worker's serializer: reads results back for events. */
  serializer: Serializer;
  /** Where warnings go. */
  logger: Logger;
  /** Stores a progress value while `token` holds. */
  saveProgress(token: FencingToken, progress: string): Promise<boolean>;
}

/** What a thread attempt ended with, when its handler returned. */
export interface ThreadResult {
  /**
   * The result as stored: the thread's serialized text, or null for
   * `undefined`.
   */
  text: string | null;
  /** The same, read back by the worker's serializer (for events). */
  value: unknown;
}

/** What the worker says, once, where `resourceLimits` do not work as on Node. */
const MEMORY_LIMIT_WARNINGS: Record<MemoryLimitSupport, string | undefined> = {
  enforced: undefined,
  ignored:
    "threads.resourceLimits is not enforced on Bun: its worker threads have no memory limit",
  silent:
    "on Deno a worker thread past threads.resourceLimits stops without telling the worker: its attempt ends only at its timeout, so give thread tasks a timeout",
};

/** Runs thread tasks' attempts in the worker's pool. */
export class ThreadRunner {
  readonly #options: ThreadRunnerOptions;
  readonly #pool: ThreadPool;
  #warned = false;

  /** @param options The pool's settings and the worker's parts it calls. */
  constructor(options: ThreadRunnerOptions) {
    this.#options = options;
    this.#pool = new ThreadPool({
      ...options.threads,
      workerId: options.workerId,
      logger: options.logger,
    });
  }

  /** Where `task` runs: its module and export, or undefined for the event loop. */
  sourceOf(task: AnyTask): ThreadHandlerSource | undefined {
    return threadSourceOf(task.handler);
  }

  /**
   * Checks that the thread tasks among `tasks` can run here: their threads
   * need a serializer they can load themselves. Warns once when the
   * runtime does not enforce `resourceLimits`.
   *
   * @throws {TypeError} If the worker's serializer is not a
   * `SuperJsonSerializer` and `threads.serializer` names no module.
   */
  check(tasks: readonly AnyTask[], action: string): void {
    const threaded = tasks.find((task) => this.sourceOf(task) !== undefined);
    if (threaded === undefined) return;
    const { serializer, threads } = this.#options;
    if (
      threads.serializer === undefined &&
      !(serializer instanceof SuperJsonSerializer)
    ) {
      throw new TypeError(
        `Cannot ${action} as task "${threaded.name}" runs in a worker thread, which cannot use the worker's serializer object: give 'threads.serializer', the URL of a module whose default export is the same serializer`,
      );
    }
    if (threads.resourceLimits !== undefined && !this.#warned) {
      this.#warned = true;
      const message = MEMORY_LIMIT_WARNINGS[threadMemoryLimits()];
      if (message !== undefined) {
        this.#options.logger.warn?.(
          { workerId: this.#options.workerId },
          message,
        );
      }
    }
  }

  /**
   * Runs `attempt` in a thread and resolves with its result once its
   * handler returned; rejects with the error to store (or the signal's
   * reason once the attempt's signal aborted, which the executor, having
   * decided the outcome already, ignores).
   */
  async run(
    attempt: Attempt,
    source: ThreadHandlerSource,
  ): Promise<ThreadResult> {
    const { claimed } = attempt;
    const { workerId, saveProgress, serializer } = this.#options;
    const token: FencingToken = {
      id: claimed.id,
      workerId,
      attempt: claimed.attempt,
    };
    let text: string | null;
    try {
      text = await this.#pool.run({
        message: {
          module: source.module,
          export: source.export,
          args: claimed.args,
          context: {
            id: claimed.id,
            name: claimed.name,
            attempt: claimed.attempt,
            maxAttempts: claimed.maxAttempts,
            workerId,
          },
        },
        signal: attempt.controller.signal,
        onProgress: async (progress) => {
          if (!attempt.done) await saveProgress(token, progress);
        },
      });
    } catch (error) {
      throw error instanceof ThreadFailure ? rebuild(error) : error;
    }
    let value: unknown;
    try {
      value = decodeResult(serializer, text);
    } catch (error) {
      throw new PermanentError(
        `Cannot read the result of task "${claimed.name}" that its worker thread serialized: ${
          coerceError(error).message
        }; the worker's serializer and its threads' ('threads.serializer') must be the same`,
        { cause: error },
      );
    }
    return { text, value };
  }

  /** Terminates the pool's threads (the worker stopped). */
  release(): Promise<void> {
    return this.#pool.release();
  }
}

/**
 * The error a handler threw in its thread, rebuilt with its name, message,
 * stack and code, so that it is stored as it would be from the event loop;
 * a `PermanentError` when retrying cannot help.
 */
function rebuild({ error, permanent }: ThreadFailure): Error {
  return permanent
    ? rebuildStored(error, new PermanentError(error.message))
    : rebuildStored(error);
}
