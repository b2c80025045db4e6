/**
 * Shared test utilities: temp databases, queues closed after a file's tests,
 * condition waits, errors caught for inspection, and child processes.
 * Tests wait for states, never for fixed amounts of time.
 *
 * @module
 */
import { expect } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type Clock,
  type QueueStats,
  SQLiteBackend,
  type SQLiteBackendOptions,
  type Task,
  type TaskContext,
  type TaskId,
  type TaskOptions,
  TaskQueue,
  type TaskQueueOptions,
  type Worker,
} from "../mod.ts";

/** The repository root. */
export const ROOT: string = resolve(import.meta.dir, "..");

/** Binaries installed by `npm ci`. */
export const BIN = {
  bun: join(ROOT, "node_modules/.bin/bun"),
  deno: join(ROOT, "node_modules/.bin/deno"),
  node: process.env.SITQ_NODE ?? "node",
};

const dirs: string[] = [];

/** A fresh directory under the OS temp dir, removed by {@linkcode cleanupTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sitq-test-"));
  dirs.push(dir);
  return dir;
}

/** A path for a new database file in a fresh temp dir. */
export function tempDbPath(name = "tasks.db"): string {
  return join(tempDir(), name);
}

/** Removes every temp dir made by this test file. Call from afterAll. */
export function cleanupTempDirs(): void {
  for (const dir of dirs.splice(0)) {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Anything {@linkcode cleanup} can end: a queue, a backend, a worker's stop. */
export interface Closable {
  close(): Promise<void> | void;
}

const closers: Closable[] = [];

/** Keeps `thing` to be closed by {@linkcode cleanup}; returns it. */
export function closeLater<T extends Closable>(thing: T): T {
  closers.push(thing);
  return thing;
}

/**
 * Closes everything kept by {@linkcode closeLater} (queues, backends,
 * workers and children of the worker helpers), newest first, so a worker
 * stops before the queue it runs on closes; then removes the temp dirs.
 * Call from afterAll.
 */
export async function cleanup(): Promise<void> {
  for (const thing of closers.splice(0).reverse()) await thing.close();
  cleanupTempDirs();
}

/** Options of {@linkcode newQueue}: the queue's, plus its backend's. */
export type NewQueueOptions = TaskQueueOptions & {
  backend?: SQLiteBackendOptions;
};

/** A queue on `path` (a fresh file by default), closed by {@linkcode cleanup}. */
export function newQueue(
  options: NewQueueOptions = {},
  path: string = tempDbPath(),
): TaskQueue {
  const { backend, ...queueOptions } = options;
  return closeLater(
    new TaskQueue(new SQLiteBackend(path, backend), queueOptions),
  );
}

/** `queue.stats()` of a queue holding no tasks at all. */
export const EMPTY_STATS: QueueStats = {
  waiting: 0,
  queued: 0,
  running: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
};

/** One hour in milliseconds: a poll or delay that never comes in a test. */
export const HOUR = 3_600_000;

/** The argument lists `[0]`, `[1]`, … `[count - 1]`, for `enqueueMany`. */
export function numberedArgs(count: number): [number][] {
  return Array.from({ length: count }, (_, n) => [n] as [number]);
}

/** What `promise` rejected with; fails the test if it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** What `fn` threw; fails the test if it returned. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw, but it returned");
}

/**
 * Opens the file with bun:sqlite (not through sitq), runs `fn` on it and
 * closes it again.
 */
export function withRaw<T>(
  path: string,
  fn: (db: Database) => T,
  options: { readonly?: boolean } = {},
): T {
  const db = new Database(path, options);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Starts `worker`, runs `body`, and stops the worker however `body` ends. */
export async function whileRunning<T>(
  worker: Worker,
  body: () => Promise<T>,
): Promise<T> {
  await worker.start();
  try {
    return await body();
  } finally {
    await worker.stop();
  }
}

/** The result of a task completed with `value` after `attempts` attempts. */
export function completed<T>(
  value: T,
  attempts = 1,
): { status: "completed"; value: T; attempts: number } {
  return { status: "completed", value, attempts };
}

/**
 * Waits (up to `timeout` ms) for task `id` to end and expects it completed
 * with exactly `value` after `attempts` attempts.
 */
export async function expectCompleted(
  queue: TaskQueue,
  id: TaskId,
  value: unknown,
  { attempts = 1, timeout = 10_000 }: { attempts?: number; timeout?: number } =
    {},
): Promise<void> {
  expect(await queue.waitForResult(id, { timeout })).toEqual(
    completed(value, attempts),
  );
}

/**
 * Resolves once `condition` returns true (it may be async), checking every
 * `interval` ms; rejects with `message` after `timeout` ms. The timeout is a
 * safety net against hangs, never the thing under test.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  message: string,
  { timeout = 20_000, interval = 10 }: { timeout?: number; interval?: number } =
    {},
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A promise with its resolve function exposed (a latch or barrier). */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
} {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A task whose handler holds until released; see {@linkcode heldTask}. */
export interface HeldTask<T> {
  task: Task<[], Awaited<T>>;
  /** Resolves once the handler has started. */
  started: Promise<void>;
  /** Lets the handler go on and return its value. */
  release(): void;
  /** Resolves once the handler has returned. */
  returned: Promise<void>;
  /** Resolves with the reason once the handler's signal aborts. */
  abortReason: Promise<unknown>;
  /** Whether the handler's signal has aborted. */
  wasAborted(): boolean;
}

/**
 * Task `name` on `queue` whose handler holds, deaf to its signal, until
 * `release()` and then returns `value`; it tells when it starts, when it
 * returns and when its signal aborts. Never released, it never settles.
 */
export function heldTask<T>(
  queue: TaskQueue,
  name: string,
  value: T,
  options?: TaskOptions,
): HeldTask<T> {
  const started = deferred();
  const release = deferred();
  const returned = deferred();
  const aborted = deferred<unknown>();
  let signalled = false;
  const task = queue.task(name, async function (this: TaskContext) {
    this.signal.addEventListener("abort", () => {
      signalled = true;
      aborted.resolve(this.signal.reason);
    });
    started.resolve();
    await release.promise;
    returned.resolve();
    return value;
  }, options);
  return {
    task,
    started: started.promise,
    release: () => release.resolve(),
    returned: returned.promise,
    abortReason: aborted.promise,
    wasAborted: () => signalled,
  };
}

/** A clock tests move by hand, so delays need no sleeping. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A child process's outcome. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its output. */
export async function run(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string>; timeout?: number } =
    {},
): Promise<RunResult> {
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(
    () => proc.kill("SIGKILL"),
    options.timeout ?? 120_000,
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
