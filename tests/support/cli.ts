/**
 * Running the real `sitq` command in tests/cli*.test.ts: on Bun and Deno
 * from cli.ts, on Node 20 from the built dist/cli.js (call `buildDist()`
 * first), as a child process with its exit code, stdout and stderr; a
 * long-running one (`worker`, `dashboard`) whose stderr is read as it
 * comes; and the seeded queue the commands read.
 *
 * @module
 */
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { TaskContext, TaskId, TaskQueue } from "../../mod.ts";
import { BIN, ROOT, run, type RunResult, waitUntil } from "../helpers.ts";
import { buildDist } from "../runtimes/matrix.ts";

/** One runtime the CLI runs on. */
export interface CliRuntime {
  label: "bun" | "deno" | "node";
  /** The command line that runs `sitq ...args`. */
  command(args: readonly string[]): string[];
}

/** Bun and Deno on the sources, Node (the machine's, 20) on dist/. */
export const CLI_RUNTIMES: readonly CliRuntime[] = [
  { label: "bun", command: (args) => [BIN.bun, join(ROOT, "cli.ts"), ...args] },
  {
    label: "deno",
    command: (args) => [BIN.deno, "run", "-A", join(ROOT, "cli.ts"), ...args],
  },
  {
    label: "node",
    command: (args) => [BIN.node, join(ROOT, "dist/cli.js"), ...args],
  },
];

/**
 * The runtimes the CLI tests run on: all of {@linkcode CLI_RUNTIMES}, or
 * those `SITQ_CLI_RUNTIMES` names (`bun,deno`) for a quick local run.
 */
export const SELECTED_RUNTIMES: readonly CliRuntime[] = (() => {
  const wanted = process.env.SITQ_CLI_RUNTIMES?.split(",").map((s) => s.trim())
    .filter((s) => s !== "");
  return wanted === undefined || wanted.length === 0
    ? CLI_RUNTIMES
    : CLI_RUNTIMES.filter((runtime) => wanted.includes(runtime.label));
})();

/** `[label, runtime]` rows of {@linkcode SELECTED_RUNTIMES} for `describe.each`. */
export const CLI_ROWS: ReadonlyArray<readonly [string, CliRuntime]> =
  SELECTED_RUNTIMES.map((runtime) => [runtime.label, runtime] as const);

/** Builds dist/ when a selected runtime runs it (Node). */
export async function buildForCli(): Promise<void> {
  if (SELECTED_RUNTIMES.some((runtime) => runtime.label === "node")) {
    await buildDist();
  }
}

/** The environment every CLI run gets: no inherited SITQ_DATABASE. */
function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return { SITQ_DATABASE: "", NO_COLOR: "1", ...env };
}

/** Runs `sitq ...args` on `runtime` to completion. */
export function sitq(
  runtime: CliRuntime,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<RunResult> {
  return run(runtime.command(args), { env: cliEnv(env), timeout: 60_000 });
}

/** Runs `sitq ...args --json`, expects exit 0, and parses stdout. */
export async function sitqJson<T = unknown>(
  runtime: CliRuntime,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<T> {
  const result = await sitq(runtime, [...args, "--json"], env);
  if (result.code !== 0) {
    throw new Error(
      `sitq ${
        args.join(" ")
      } exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return JSON.parse(result.stdout) as T;
}

/** A `sitq` process left running, its stderr (and stdout) read as they come. */
export class LiveCli {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  #stderr = "";
  #stdout = "";

  /** `prefix`: a command to run it under, e.g. `["setsid"]`. */
  constructor(
    runtime: CliRuntime,
    args: readonly string[],
    prefix: readonly string[] = [],
  ) {
    this.process = Bun.spawn([...prefix, ...runtime.command(args)], {
      cwd: ROOT,
      env: { ...process.env, ...cliEnv() },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    void this.#read(this.process.stderr, (text) => this.#stderr += text);
    void this.#read(this.process.stdout, (text) => this.#stdout += text);
  }

  async #read(
    stream: ReadableStream<Uint8Array>,
    add: (text: string) => void,
  ): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      add(decoder.decode(chunk, { stream: true }));
    }
  }

  /** What it wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** What it wrote to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Waits until stderr matches `pattern` (`g` flag: all matches) and returns the matches. */
  async waitForStderr(
    pattern: RegExp,
    count = 1,
    timeout = 30_000,
  ): Promise<RegExpMatchArray[]> {
    let found: RegExpMatchArray[] = [];
    const global = new RegExp(
      pattern.source,
      pattern.flags.replace("g", "") + "g",
    );
    await waitUntil(
      () => {
        found = [...this.#stderr.matchAll(global)];
        return found.length >= count || this.process.exitCode !== null;
      },
      `stderr to match ${pattern} ${count} times; stderr so far:\n${this.#stderr}`,
      { timeout },
    );
    if (found.length < count) {
      throw new Error(
        `sitq exited ${this.process.exitCode} before stderr matched ${pattern}:\n${this.#stderr}`,
      );
    }
    return found;
  }

  /** Waits until stdout matches `pattern` and returns the match. */
  async waitForStdout(
    pattern: RegExp,
    timeout = 30_000,
  ): Promise<RegExpMatchArray> {
    let found: RegExpMatchArray | null = null;
    await waitUntil(
      () =>
        (found = pattern.exec(this.#stdout)) !== null ||
        this.process.exitCode !== null,
      `stdout to match ${pattern}; stderr so far:\n${this.#stderr}`,
      { timeout },
    );
    if (found === null) {
      throw new Error(
        `sitq exited ${this.process.exitCode} before stdout matched ${pattern}:\n${this.#stderr}`,
      );
    }
    return found;
  }

  /** Sends `signal` and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    this.process.kill(signal);
    return await this.process.exited;
  }

  /** Kills it if it still runs (for afterAll). */
  close(): void {
    if (this.process.exitCode === null) this.process.kill("SIGKILL");
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The tasks {@linkcode seedQueue} stored, by role. */
export interface Seeded {
  completed: TaskId[];
  failed: TaskId;
  /** Queued in queue "mail", due in an hour. */
  delayed: TaskId;
  /** Queued, due now, no worker for it ("idle"). */
  queued: TaskId;
}

/**
 * Stores tasks in every final status a test reads: three `ok` tasks
 * completed (the second with progress `{ step: 2, of: 3 }`), one `bad` failed after two attempts (its error has a stack),
 * one `mail` task delayed an hour in queue "mail", and one `idle` task
 * queued. Runs a worker in this process until they have settled.
 */
export async function seedQueue(queue: TaskQueue): Promise<Seeded> {
  const ok = queue.task("ok", async function (this: TaskContext, n: number) {
    if (n === 2) await this.reportProgress({ step: 2, of: 3 });
    return { n, at: new Date(Date.UTC(2026, 0, 2)) };
  });
  const bad = queue.task("bad", (why: string) => {
    // A terminal escape (clear screen) in the message: shown, never obeyed.
    throw new Error(`boom: ${why}\u001b[2J`);
  }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
  const mail = queue.task("mail", (to: string) => to, { queue: "mail" });
  const completed = [
    await queue.enqueue(ok, 1),
    await queue.enqueue(ok, 2),
    await queue.enqueue(ok, 3),
  ];
  const failed = await queue.enqueue(bad, "<script>alert(1)</script>");
  const delayed = await queue.enqueue(
    mail.with({ delay: 3_600_000 }),
    "ada@example.com",
  );
  const worker = queue.worker({ pollInterval: 10, tasks: [ok, bad] });
  await worker.start();
  try {
    await queue.waitForResult(failed, { timeout: 20_000 });
    for (const id of completed) {
      await queue.waitForResult(id, { timeout: 20_000 });
    }
  } finally {
    await worker.stop();
  }
  // Defined after the worker stopped: no worker here runs it.
  const idle = queue.task("idle", () => null);
  const queued = await queue.enqueue(idle);
  return { completed, failed, delayed, queued };
}
