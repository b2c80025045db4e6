/**
 * Runs tests/runtimes/scenario.mjs on a runtime and checks what it printed.
 * Shared by the bun, deno, node and cross-runtime suites so that all of them
 * hold every runtime to the same facts.
 *
 * @module
 */
import { expect } from "bun:test";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT, run, tempDbPath, tempDir } from "../helpers.ts";

/** The scenario script every runtime runs. */
export const SCENARIO: string = join(ROOT, "tests/runtimes/scenario.mjs");

/** Hang guard for one scenario process; a run takes about a second. */
const PROCESS_TIMEOUT = 60_000;

/** What the scenario prints: one JSON object. */
export type Facts = Record<string, unknown> & {
  runtime: string;
  driver: string;
  entry: string;
};

/**
 * Runs `cmd` (a runtime and the scenario's arguments), expects exit code 0
 * and exactly one line on stdout, and returns that line parsed.
 */
export async function runFacts(cmd: string[], cwd?: string): Promise<Facts> {
  const result = await run(cmd, { cwd, timeout: PROCESS_TIMEOUT });
  const detail = `${
    cmd.join(" ")
  }\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, detail).toBe(0);
  const lines = result.stdout.trim().split("\n");
  expect(lines.length, detail).toBe(1);
  return JSON.parse(lines[0]!) as Facts;
}

/** Commands that run the scenario on the `.ts` sources. */
export const sourceCommand = {
  bun: (...args: string[]): string[] => [BIN.bun, SCENARIO, ...args],
  deno: (
    ...args: string[]
  ): string[] => [BIN.deno, "run", "-A", SCENARIO, ...args],
};

let built: Promise<void> | undefined;

/**
 * Builds dist/ with `tsc -p tsconfig.build.json`, once per test process:
 * dist/ is git-ignored and may be stale, and Node runs only the build.
 */
export function buildDist(): Promise<void> {
  built ??= run([
    join(ROOT, "node_modules/.bin/tsc"),
    "-p",
    "tsconfig.build.json",
  ])
    .then((result) => {
      if (result.code !== 0) {
        built = undefined;
        throw new Error(`tsc build failed:\n${result.stdout}${result.stderr}`);
      }
    });
  return built;
}

/**
 * Runs the full scenario on the `.ts` sources with `runtime` (a fresh
 * database) and asserts it loaded mod.ts and produced the common facts
 * with `driver`.
 */
export async function expectSourceScenario(
  runtime: keyof typeof sourceCommand,
  driver: string,
): Promise<void> {
  const facts = await runFacts(sourceCommand[runtime]("full", tempDbPath()));
  expect(facts.entry).toBe(`file://${ROOT}/mod.ts`);
  expectScenarioFacts(facts, runtime, driver);
}

/**
 * Makes a directory that consumes sitq like an npm user would:
 * `node_modules/sitq` is a symlink to the repository, so the bare specifier
 * "sitq" resolves through package.json `exports` to dist/mod.js (and sitq's
 * own dependencies from the repository's node_modules, after Node follows
 * the link). The scenario is copied in, so its `import("sitq")` starts the
 * lookup from the consumer directory.
 *
 * @param node The node binary that runs it.
 * @returns The directory and the command prefix that runs the scenario.
 */
export function nodeConsumer(node: string = BIN.node): {
  dir: string;
  command: (...args: string[]) => string[];
} {
  const dir = tempDir();
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules/sitq"), "dir");
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      private: true,
      type: "module",
      dependencies: { sitq: "*" },
    }),
  );
  copyFileSync(SCENARIO, join(dir, "scenario.mjs"));
  return {
    dir,
    command: (phase, db) => [node, "scenario.mjs", phase!, db!, "sitq"],
  };
}

/**
 * Runs scenario phase `phase` on `db` with node, from a fresh
 * {@linkcode nodeConsumer} directory; returns the facts it printed.
 */
export function runNodeConsumer(
  phase: string,
  db: string,
  node: string = BIN.node,
): Promise<Facts> {
  const consumer = nodeConsumer(node);
  return runFacts(consumer.command(phase, db), consumer.dir);
}

/**
 * What the scenario's "describe" task reports, on the queue's own backend
 * and on another: rich arguments and the handler's context survived.
 */
const DESCRIBE_FACTS = {
  status: "completed",
  attempts: 1,
  whenIsDate: true,
  when: "2024-02-29T12:30:00.000Z",
  tagsIsMap: true,
  tags: [["red", 1], ["blue", 2]],
  contextAttempt: 1,
  contextName: "describe",
};

/** The facts that must be the same on every runtime, driver aside. */
export const COMMON_FACTS = {
  describe: DESCRIBE_FACTS,
  squares: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100],
  gates: { values: [0, 1, 2, 3, 4, 5, 6, 7], peak: 4 },
  flaky: {
    status: "failed",
    attempts: 2,
    error: "boom",
    calls: 2,
    history: ["failed", "failed"],
  },
  timeout: {
    status: "failed",
    error: "TaskTimeoutError",
    signalReason: "TaskTimeoutError",
  },
  cancelled: { status: "cancelled", ran: false },
  missingDir: "DatabaseError CANNOT_OPEN",
  shutdown: {
    status: "queued",
    attempts: 0,
    signalReason: "InterruptedError",
    history: ["interrupted"],
    runningAfterStop: false,
  },
  events: { completed: 19, failed: 2, retrying: 1 },
  worker: { completed: 19, failed: 2, retried: 1 },
  stats: {
    waiting: 0,
    queued: 0,
    running: 0,
    completed: 19,
    failed: 2,
    cancelled: 1,
  },
  otherBackend: {
    describe: DESCRIBE_FACTS,
    sameStats: true,
  },
};

/** Asserts the full scenario's facts: the common ones plus runtime and driver. */
export function expectScenarioFacts(
  facts: Facts,
  runtime: "bun" | "deno" | "node",
  driver: string,
): void {
  const { runtime: ran, runtimeVersion: _, entry: __, driver: used, ...rest } =
    facts;
  expect({ ran, used }).toEqual({ ran: runtime, used: driver });
  expect(rest).toEqual(COMMON_FACTS);
}

/** What the `noclose` phase prints besides runtime, driver and entry. */
export const NOCLOSE_FACTS = {
  result: { status: "completed", value: 49, attempts: 1 },
};

/**
 * Runs the `noclose` phase with `command` and expects the process to exit
 * by itself, with exit code 0, having completed its task.
 */
export async function expectExitWithoutClose(
  runtime: "bun" | "deno" | "node",
  facts: Promise<Facts>,
): Promise<void> {
  const { runtime: ran, result } = await facts;
  expect({ ran, result }).toEqual({ ran: runtime, ...NOCLOSE_FACTS });
}
