/**
 * Shared test utilities: temp databases, condition waits, child processes.
 * Tests wait for states, never for fixed amounts of time.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Clock } from "../mod.ts";

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
