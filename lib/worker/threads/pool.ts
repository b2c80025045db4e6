/**
 * The thread pool: up to `size` `node:worker_threads` threads, each running
 * one job at a time. A job is one attempt's run message, its abort signal
 * and where its progress reports go.
 *
 * A thread's life: started when a job needs one and none is idle (up to
 * `size`); given jobs one after another; referenced while it runs one and
 * unreferenced while idle (an idle pool never keeps a process alive).
 * It leaves the pool when
 * - its job's signal aborts (timeout, stop deadline, lost lease): it is
 *   terminated at once, so nothing its handler does afterwards runs;
 * - it dies (out of memory, an uncaught exception, `process.exit()`): its
 *   job fails with a {@linkcode ThreadError} saying which;
 * - the pool is released (the worker stopped).
 * The next job that needs a thread starts a fresh one.
 *
 * @module
 */
import { Worker as NodeWorker } from "node:worker_threads";
import { coerceError } from "../../core/coerce_error.ts";
import type { Logger } from "../../core/logger.ts";
import { toStoredError } from "../../core/stored_error.ts";
import type { StoredError } from "../../core/types.ts";
import {
  type FromThread,
  rebuildStored,
  type RunMessage,
  type ThreadData,
  type ToThread,
} from "./messages.ts";
import type { ResolvedThreadOptions } from "./options.ts";
import { ThreadError } from "./thread_error.ts";

/**
 * The thread entry, beside this module: `.ts` in the sources (Bun, Deno),
 * `.js` in the build (Node), where the compiler has rewritten the imports
 * but not this URL.
 */
const ENTRY = new URL(
  import.meta.url.endsWith(".ts") ? "./thread_entry.ts" : "./thread_entry.js",
  import.meta.url,
);

/** One attempt to run in a thread. */
export interface ThreadJob {
  /** What the thread runs, without the run number the pool adds. */
  readonly message: Omit<RunMessage, "type" | "run">;
  /** Aborting it ends the job: its thread, if it has one, is terminated. */
  readonly signal: AbortSignal;
  /** Stores a progress report (the serializer's text); settles once stored. */
  onProgress(progress: string): Promise<void>;
}

/** What the pool needs besides its options. */
export interface ThreadPoolSettings extends ResolvedThreadOptions {
  /** The worker's id, for log lines. */
  workerId: string;
  /** Where a thread that dies while idle is reported. */
  logger: Logger;
}

/** A job given to the pool, until it settles. */
interface PendingJob {
  readonly job: ThreadJob;
  readonly resolve: (result: string | null) => void;
  readonly reject: (error: unknown) => void;
  /** The thread running it, once it has one. */
  thread?: PooledThread;
  run: number;
}

interface PooledThread {
  readonly worker: NodeWorker;
  /** The job it runs now. */
  current: PendingJob | undefined;
  /** The last error it reported, read when it exits. */
  error: Error | undefined;
  /** What escaped its handler, as it reported it before exiting. */
  crash: StoredError | undefined;
  /** Whether its entry module has loaded (it said "ready"). */
  ready: boolean;
  /** Set once the pool has let go of it. */
  gone: boolean;
}

/** The worker's threads; see the module doc. */
export class ThreadPool {
  readonly #settings: ThreadPoolSettings;
  readonly #threads = new Set<PooledThread>();
  readonly #idle: PooledThread[] = [];
  readonly #waiting: PendingJob[] = [];
  /** Terminations under way, which `release()` waits for. */
  readonly #terminating = new Set<Promise<unknown>>();
  #nextRun = 0;

  /** @param settings The pool's size, limits, serializer module and logger. */
  constructor(settings: ThreadPoolSettings) {
    this.#settings = settings;
  }

  /**
   * Runs `job` in a thread and resolves with the serialized result. Rejects
   * with what the handler threw (rebuilt by the caller from the message),
   * a {@linkcode ThreadError} if the thread died or could not start, or the
   * signal's reason once it aborts.
   */
  run(job: ThreadJob): Promise<string | null> {
    if (job.signal.aborted) return Promise.reject(job.signal.reason);
    return new Promise<string | null>((resolve, reject) => {
      const onAbort = () => this.#abort(pending);
      const stopListening = () =>
        job.signal.removeEventListener("abort", onAbort);
      const pending: PendingJob = {
        job,
        run: 0,
        resolve: (result) => {
          stopListening();
          resolve(result);
        },
        reject: (error) => {
          stopListening();
          reject(error);
        },
      };
      job.signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(pending);
      this.#dispatch();
    });
  }

  /**
   * Terminates every thread, fails what waits, and resolves once every
   * thread this pool terminated (now or when an attempt was aborted) has
   * exited. The pool stays usable: a later job starts a fresh thread.
   */
  async release(): Promise<void> {
    const threads = [...this.#threads];
    this.#threads.clear();
    this.#idle.length = 0;
    for (const pending of this.#waiting.splice(0)) {
      pending.reject(new Error("The worker released its threads"));
    }
    for (const thread of threads) {
      thread.gone = true;
      thread.current?.reject(new Error("The worker released its threads"));
      thread.current = undefined;
      this.#terminate(thread);
    }
    await Promise.all(this.#terminating);
  }

  /**
   * Terminates a thread the pool has let go of. Node stops a running
   * thread within milliseconds; Bun within a few hundred while the thread
   * is in a system call; Deno (2.9) reports the exit at once but lets a
   * thread busy in synchronous code run on (denoland/deno#35657).
   */
  #terminate(thread: PooledThread): void {
    const exited = thread.worker.terminate().catch(() => {});
    this.#terminating.add(exited);
    void exited.then(() => this.#terminating.delete(exited));
  }

  /** Gives waiting jobs threads: idle ones first, then new ones. */
  #dispatch(): void {
    while (this.#waiting.length > 0) {
      let thread = this.#idle.pop();
      if (thread === undefined) {
        if (this.#threads.size >= this.#settings.size) return;
        const pending = this.#waiting[0]!;
        thread = this.#spawn(pending);
        if (thread === undefined) {
          this.#waiting.shift();
          continue;
        }
      }
      this.#start(thread, this.#waiting.shift()!);
    }
  }

  /**
   * Starts a thread, or fails `pending` with the reason none could start
   * (on Deno, a missing read permission throws here).
   */
  #spawn(pending: PendingJob): PooledThread | undefined {
    const { resourceLimits, serializer } = this.#settings;
    const data: ThreadData = serializer === undefined ? {} : { serializer };
    let worker: NodeWorker;
    try {
      worker = new NodeWorker(ENTRY, {
        workerData: data,
        ...(resourceLimits === undefined ? {} : { resourceLimits }),
      });
    } catch (error) {
      pending.reject(startFailed(pending.job, error));
      return undefined;
    }
    const thread: PooledThread = {
      worker,
      current: undefined,
      error: undefined,
      crash: undefined,
      ready: false,
      gone: false,
    };
    worker.on("message", (message: FromThread) => {
      if (message.type === "ready") thread.ready = true;
      else this.#onMessage(thread, message);
    });
    worker.on("error", (error: unknown) => {
      thread.error = coerceError(error);
    });
    worker.on("exit", (code: number) => this.#onExit(thread, code));
    this.#threads.add(thread);
    return thread;
  }

  #start(thread: PooledThread, pending: PendingJob): void {
    pending.run = this.#nextRun++;
    pending.thread = thread;
    thread.current = pending;
    thread.worker.ref();
    this.#post(thread, {
      type: "run",
      run: pending.run,
      ...pending.job.message,
    });
  }

  #onMessage(thread: PooledThread, message: FromThread): void {
    const pending = thread.current;
    if (message.type === "ready") return;
    if (message.type === "crashed") {
      thread.crash = message.error;
      return;
    }
    if (message.type === "progress") {
      // A late report from a finished run is ignored, as on the event loop.
      const stored = pending?.run === message.run
        ? pending.job.onProgress(message.progress)
        : Promise.resolve();
      stored.then(
        () =>
          this.#post(thread, {
            type: "progressSaved",
            request: message.request,
          }),
        (error) =>
          this.#post(thread, {
            type: "progressSaved",
            request: message.request,
            error: toStoredError(error),
          }),
      );
      return;
    }
    if (pending === undefined || pending.run !== message.run) return;
    thread.current = undefined;
    if (message.type === "done") pending.resolve(message.result);
    else pending.reject(new ThreadFailure(message.error, message.permanent));
    if (!thread.gone) {
      thread.worker.unref();
      this.#idle.push(thread);
      this.#dispatch();
    }
  }

  /** The job's signal aborted: drop it, terminating its thread if it runs. */
  #abort(pending: PendingJob): void {
    const index = this.#waiting.indexOf(pending);
    if (index !== -1) this.#waiting.splice(index, 1);
    const thread = pending.thread;
    if (thread !== undefined && thread.current === pending) {
      thread.current = undefined;
      this.#drop(thread);
      this.#terminate(thread);
    }
    pending.reject(pending.job.signal.reason);
    this.#dispatch();
  }

  #onExit(thread: PooledThread, code: number): void {
    if (thread.gone) return;
    this.#drop(thread);
    const pending = thread.current;
    thread.current = undefined;
    if (pending !== undefined) {
      pending.reject(died(pending.job, thread, code));
    } else {
      this.#settings.logger.warn?.(
        {
          workerId: this.#settings.workerId,
          exitCode: code,
          err: thread.crash === undefined
            ? thread.error
            : rebuildStored(thread.crash),
        },
        "a worker thread exited while idle (an exception thrown after its handler returned?); the next thread task starts a fresh one",
      );
    }
    this.#dispatch();
  }

  #drop(thread: PooledThread): void {
    thread.gone = true;
    this.#threads.delete(thread);
    const index = this.#idle.indexOf(thread);
    if (index !== -1) this.#idle.splice(index, 1);
  }

  #post(thread: PooledThread, message: ToThread): void {
    if (thread.gone) return;
    try {
      thread.worker.postMessage(message);
    } catch {
      // The thread is exiting; its exit event settles its job.
    }
  }
}

/**
 * An attempt that failed inside its thread, as the thread described it;
 * the runner rebuilds the error the executor stores from it.
 */
export class ThreadFailure {
  /**
   * @param error The error as stored: name, message, stack, code.
   * @param permanent Whether retrying cannot help.
   */
  constructor(
    readonly error: ReturnType<typeof toStoredError>,
    readonly permanent: boolean,
  ) {}
}

/**
 * The error of a job whose thread could not start: the Worker constructor
 * threw, or the thread died before its entry module loaded.
 */
function startFailed(job: ThreadJob, error: unknown): ThreadError {
  const cause = coerceError(error);
  // Deno colours the location it appends to a worker's error message.
  // deno-lint-ignore no-control-regex
  const message = cause.message.replace(/\x1b\[[0-9;]*m/g, "");
  const permission = cause.name === "NotCapable" ||
      /--allow-read/.test(message)
    ? "; on Deno, grant read access to sitq's files (its lib/ folder) and to the handler's module (--allow-read)"
    : "";
  return withCauseStack(
    new ThreadError(
      "THREAD_START_FAILED",
      `Cannot start a worker thread for task "${job.message.context.name}": ${message}${permission}`,
      { cause },
    ),
  );
}

/** The error of a job whose thread exited under it. */
function died(
  job: ThreadJob,
  thread: PooledThread,
  code: number,
): ThreadError {
  const name = job.message.context.name;
  const cause = thread.crash === undefined
    ? thread.error
    : rebuildStored(thread.crash);
  const reason = (cause as { code?: unknown } | undefined)?.code;
  if (reason === "ERR_WORKER_OUT_OF_MEMORY") {
    return new ThreadError(
      "THREAD_OUT_OF_MEMORY",
      `Task "${name}" ran out of memory in its worker thread (${
        cause!.message
      }); the thread was replaced. Raise threads.resourceLimits or make the task use less memory`,
      { cause },
    );
  }
  if (!thread.ready) {
    return startFailed(
      job,
      cause ?? new Error(`the thread exited with code ${code}`),
    );
  }
  return withCauseStack(
    new ThreadError(
      "THREAD_CRASHED",
      cause === undefined
        ? `The worker thread running task "${name}" exited with code ${code} before the task finished (did the handler call process.exit()?); the thread was replaced`
        : `The worker thread running task "${name}" crashed: ${cause.message} (an exception thrown outside the handler's promise ends its thread); the thread was replaced`,
      { cause },
    ),
  );
}

/** Appends the cause's stack, where the problem is, to the error's own. */
function withCauseStack(error: ThreadError): ThreadError {
  const cause = error.cause as Error | undefined;
  if (typeof cause?.stack === "string" && typeof error.stack === "string") {
    error.stack = `${error.stack}\nCaused by: ${cause.stack}`;
  }
  return error;
}
