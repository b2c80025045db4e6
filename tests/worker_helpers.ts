/**
 * Shared by the worker engine's tests (tests/worker_*.test.ts): workers and
 * child processes ended by `cleanup()` of tests/helpers.ts after a file's
 * tests, an instrumented backend that counts loop steps, and child processes
 * whose output can be awaited.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SQLiteBackend, TaskQueue, type Worker } from "../mod.ts";
import type { ClaimRequest, Settlement } from "../backend.ts";
import {
  closeLater,
  type NewQueueOptions,
  ROOT,
  tempDbPath,
  tempDir,
  waitUntil,
  withRaw,
} from "./helpers.ts";
import { RUNTIMES, type RuntimeTarget } from "./runtimes/matrix.ts";

const BUN = RUNTIMES[0]!;

/**
 * A real SQLite backend that counts the loop's calls into it, so a test can
 * wait until a worker has gone round its loop again (a state), never for an
 * amount of time.
 */
export class CountingBackend extends SQLiteBackend {
  /** Calls of `settleAndClaim` that asked to claim. */
  claims = 0;
  /** Calls of `recoverExpiredLeases` (one per poll of a running worker). */
  recoveries = 0;

  /**
   * Awaited after each claim's transaction, before the worker sees its
   * result: lets a test force an interleaving that otherwise happens only
   * by chance.
   */
  afterClaim: (() => Promise<void>) | undefined;

  override async settleAndClaim(
    settlements: readonly Settlement[],
    claim: ClaimRequest | undefined,
  ): ReturnType<SQLiteBackend["settleAndClaim"]> {
    if (claim !== undefined) this.claims++;
    const result = await super.settleAndClaim(settlements, claim);
    if (claim !== undefined) await this.afterClaim?.();
    return result;
  }

  override recoverExpiredLeases(
    now: number,
    error: string,
  ): Promise<number[]> {
    this.recoveries++;
    return super.recoverExpiredLeases(now, error);
  }
}

/** A queue on a {@linkcode CountingBackend}, closed by `cleanup()`. */
export function countingQueue(
  options: NewQueueOptions = {},
  path: string = tempDbPath(),
): { queue: TaskQueue; backend: CountingBackend } {
  const { backend: backendOptions, ...queueOptions } = options;
  const backend = new CountingBackend(path, backendOptions);
  const queue = closeLater(new TaskQueue(backend, queueOptions));
  return { queue, backend };
}

/** Registers `worker` to be stopped by `cleanup()`; returns it. */
export function track<W extends Worker>(worker: W): W {
  closeLater({ close: () => worker.stop({ timeout: 0 }) });
  return worker;
}

/** Tasks per status, read straight from the file (not through sitq). */
export function statusCounts(path: string): Record<string, number> {
  const rows = withRaw(
    path,
    (db) =>
      db.query("select status, count(*) as n from sitq_tasks group by status")
        .all() as Array<{ status: string; n: number }>,
    { readonly: true },
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** The lines of a log file written by handlers; none if it does not exist. */
export function logLines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((line) => line !== "");
}

/** A child process whose output is collected as it arrives. */
export interface Child {
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** Everything printed to stdout so far. */
  stdout: string;
  /** Everything printed to stderr so far. */
  stderr: string;
  /** Resolves with the exit code once the process ends and its output is read. */
  readonly exited: Promise<number | null>;
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  append: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    append(decoder.decode(chunk, { stream: true }));
  }
  append(decoder.decode());
}

/**
 * Starts `tests/fixtures/<script>` on `runtime` (default Bun); killed by
 * `cleanup()` if still alive. A `.mjs` fixture runs on any runtime of
 * tests/runtimes/matrix.ts; a `.ts` one on Bun.
 */
export function spawnFixture(
  script: string,
  args: string[],
  runtime: RuntimeTarget = BUN,
): Child {
  const proc = Bun.spawn(
    runtime.command(join(ROOT, "tests/fixtures", script), ...args),
    {
      cwd: ROOT,
      env: { ...process.env, ...runtime.env },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const child = {
    proc,
    stdout: "",
    stderr: "",
  } as Child & { exited: Promise<number | null> };
  const reading = Promise.all([
    collect(
      proc.stdout as ReadableStream<Uint8Array>,
      (text) => child.stdout += text,
    ),
    collect(
      proc.stderr as ReadableStream<Uint8Array>,
      (text) => child.stderr += text,
    ),
  ]);
  (child as { exited: Promise<number | null> }).exited = reading.then(() =>
    proc.exited
  );
  closeLater({
    close: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
      }
      await proc.exited;
    },
  });
  return child;
}

/** Waits until `child` has printed `text`; fails early, with its output, if it exits first. */
export async function waitForOutput(
  child: Child,
  text: string,
  timeout = 20_000,
): Promise<void> {
  await waitUntil(
    () => {
      if (child.stdout.includes(text)) return true;
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
        throw new Error(
          `the child exited (${
            child.proc.exitCode ?? child.proc.signalCode
          }) before printing ${
            JSON.stringify(text)
          }\nstdout: ${child.stdout}\nstderr: ${child.stderr}`,
        );
      }
      return false;
    },
    `child to print ${JSON.stringify(text)}`,
    { timeout },
  );
}

/** Configuration of tests/fixtures/worker_process.mjs. */
export interface WorkerProcessConfig {
  /** The database file (unused with `postgres`). */
  db: string;
  /**
   * A PostgreSQL schema to work on instead of `db`: the server's URL and
   * the rest of `PostgresBackendOptions` (schema, changePollInterval, ...).
   */
  postgres?: { url: string; schema: string; changePollInterval?: number };
  /** Where the handler appends `<workerId> <taskId> <arg>` per run. */
  log: string;
  /** What the handler of task "job" does after logging. */
  behaviour: "return" | "hang" | "until-abort" | "until-release";
  /** For "until-release": the handler returns once this file exists. */
  releaseFile?: string;
  workerId?: string;
  concurrency?: number;
  pollInterval?: number;
  leaseDuration?: number;
  heartbeatInterval?: number;
  /** `worker.run({ timeout })` at SIGINT/SIGTERM. */
  stopTimeout?: number;
}

/**
 * Starts a worker process on `runtime` (default Bun); it prints "ready" once
 * its worker runs.
 */
export function spawnWorker(
  config: WorkerProcessConfig,
  runtime: RuntimeTarget = BUN,
): Child {
  return spawnFixture("worker_process.mjs", [JSON.stringify(config)], runtime);
}

/** Starts a worker process per config and waits until each prints "ready". */
export async function spawnReadyWorkers(
  configs: WorkerProcessConfig[],
  runtime: RuntimeTarget = BUN,
): Promise<Child[]> {
  const children = configs.map((config) => spawnWorker(config, runtime));
  await Promise.all(children.map((child) => waitForOutput(child, "ready")));
  return children;
}

/** Where a worker process keeps its things: a fresh temp dir. */
export interface ProcessFiles {
  /** The temp dir holding the files below. */
  dir: string;
  /** The database file. */
  db: string;
  /** The handler's run log ({@linkcode WorkerProcessConfig}.log). */
  log: string;
}

/** A fresh temp dir with the paths of a database and a run log in it. */
export function processFiles(): ProcessFiles {
  const dir = tempDir();
  return { dir, db: join(dir, "tasks.db"), log: join(dir, "runs.log") };
}
