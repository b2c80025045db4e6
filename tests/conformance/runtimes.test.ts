/**
 * The backend conformance suite on every other runtime of the matrix
 * (tests/runtimes/matrix.ts), each in its own process running runner.ts:
 * Deno on the `.ts` sources (node:sqlite); Node 22 and 24 on the same `.ts`
 * files with their types stripped, against the built dist/ (node:sqlite);
 * Node 20, which cannot strip types, on a tsc build of this folder in
 * .tmp/, against dist/ (better-sqlite3). Each must report exactly as many
 * passed tests as the suite holds, and none failed.
 *
 * Each runtime runs the suite twice, in two processes: on SQLite, and on
 * PostgreSQL (node-postgres) on the tests' server, whose URL it gets in
 * SITQ_TEST_POSTGRES_URL (see tests/support/postgres_server.ts). On
 * PostgreSQL only the one-backend factory runs here: the three-backends one
 * tests how sitq's own code shares a schema across pools, which is the same
 * code on every runtime, and Bun runs it in postgres.test.ts; it doubled the
 * longest part of the test run (the server's CPU for a schema per test). Without a
 * server the PostgreSQL runs are skipped with the reason printed; under
 * CI=true that is a failing test instead.
 *
 * The runs are queued in `beforeAll`, at most `PARALLEL_RUNS` at a time
 * (the PostgreSQL ones first: they are the longest, and mostly wait on
 * timers and locks), and each test awaits its own. All eight at once on a
 * two-core machine made each run several times slower than alone, until
 * some passed their hang guard.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as sitq from "../../mod.ts";
import { ROOT, run, type RunResult } from "../helpers.ts";
import { buildDist, RUNTIMES, type RuntimeTarget } from "../runtimes/matrix.ts";
import { testPostgres } from "../support/postgres_server.ts";
import { backendSuite } from "./backend_suite.ts";
import { postgresModuleOf, type SitqPostgres } from "./harness.ts";
import { postgresFactories } from "./postgres_factories.ts";
import { sqliteFactories } from "./sqlite_factories.ts";

const HERE = join(ROOT, "tests/conformance");
/**
 * Where the Node 20 build goes: one per test process, so that two runs at
 * once do not share it, and inside the repository, so that its files are
 * ES modules by package.json and find better-sqlite3 in node_modules. It
 * keeps the tests/ layout below it.
 */
const NODE20_BUILD = join(ROOT, `.tmp/conformance-node20-${process.pid}`);
/**
 * Hang guard for one runtime's whole run on one backend. Alone, SQLite
 * takes about 25 s and PostgreSQL (one factory) about 50 s, of which the
 * server spends about 40 s of CPU (each test migrates and drops a schema of
 * its own): three runs at once on two cores take a few times as long.
 */
const RUN_TIMEOUT = 600_000;
/** How many runs go at once: two cores run about this many without stalling. */
const PARALLEL_RUNS = 3;
/**
 * A test's hang guard: its run may wait for every run before it, each
 * bounded by `RUN_TIMEOUT`.
 */
const WHOLE_TIMEOUT = RUN_TIMEOUT * 2;

/** The tests' PostgreSQL server; under CI=true, its absence fails below. */
const postgres = await testPostgres().catch((error: Error) => ({
  url: undefined,
  reason: error.message,
  required: true,
}));

const sitqPostgres = await import(
  postgresModuleOf(pathToFileURL(join(ROOT, "mod.ts")).href)
) as SitqPostgres;

/** The PostgreSQL factory the other runtimes run (see the module doc). */
const POSTGRES_FACTORY = "PostgreSQL";

/** How many tests the suite holds per backend: each run must pass them all. */
const EXPECTED = {
  sqlite: sqliteFactories(sitq).flatMap(backendSuite).length,
  // The URL only names the factories' server; counting opens nothing.
  postgres: postgresFactories(sitqPostgres, "postgres://unused")
    .filter((factory) => factory.name === POSTGRES_FACTORY)
    .flatMap(backendSuite).length,
};

type BackendName = keyof typeof EXPECTED;

/** The backends each runtime runs the suite on. */
const BACKENDS: BackendName[] = postgres.url === undefined
  ? ["sqlite"]
  : ["sqlite", "postgres"];
if (postgres.url === undefined && !("required" in postgres)) {
  console.warn(`PostgreSQL conformance runs skipped: ${postgres.reason}`);
}

const TARGETS = RUNTIMES.filter((target) => target.kind !== "bun");

/** Whether `target` is a Node too old to strip types (before 22). */
function needsBuild(target: RuntimeTarget): boolean {
  return target.kind === "node" && Number(target.label.slice(4)) < 22;
}

/**
 * Compiles this folder's suite (not its bun tests) to JavaScript with tsc,
 * types stripped and `.ts` imports rewritten, and copies the fixtures its
 * child processes run beside it so `../fixtures/` resolves as in the
 * sources. Only
 * these files are compiled (`--noResolve`): lib/ is reached through
 * `SITQ_MODULE` at run time, and through type imports that compile away.
 */
async function buildForNode20(): Promise<void> {
  const sources = readdirSync(HERE)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
    .map((file) => join(HERE, file))
    .concat(join(ROOT, "tests/support/postgres_server.ts"));
  const result = await run([
    join(ROOT, "node_modules/.bin/tsc"),
    "--noCheck",
    "--noResolve",
    "--outDir",
    NODE20_BUILD,
    "--rootDir",
    join(ROOT, "tests"),
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--rewriteRelativeImportExtensions",
    "--verbatimModuleSyntax",
    "--skipLibCheck",
    "--types",
    "node",
    ...sources,
  ]);
  if (result.code !== 0) {
    throw new Error(`tsc failed:\n${result.stdout}${result.stderr}`);
  }
  mkdirSync(join(NODE20_BUILD, "fixtures"), { recursive: true });
  // Every JavaScript fixture: the suite's child processes run several, and
  // a list kept by hand missed each new one.
  const fixtures = readdirSync(join(ROOT, "tests/fixtures"))
    .filter((name) => name.endsWith(".mjs"));
  for (const fixture of fixtures) {
    copyFileSync(
      join(ROOT, "tests/fixtures", fixture),
      join(NODE20_BUILD, "fixtures", fixture),
    );
  }
}

const runs = new Map<string, Promise<RunResult>>();

/** A run waiting for its turn: its key in `runs` and how to start it. */
type QueuedRun = { key: string; start: () => Promise<RunResult> };

/**
 * Starts `queued` in order, at most `parallel` at a time, and puts each
 * run's promise in `runs` at once, so a test can await a run not started
 * yet.
 */
function startInTurn(queued: QueuedRun[], parallel: number): void {
  let next = 0;
  const waiters = new Map<string, (result: RunResult) => void>();
  for (const { key } of queued) {
    runs.set(key, new Promise((resolve) => waiters.set(key, resolve)));
  }
  const startNext = (): void => {
    const item = queued[next++];
    if (item === undefined) return;
    item.start()
      .catch((error: Error): RunResult => ({
        code: -1,
        stdout: "",
        stderr: `the run did not start: ${error.message}`,
      }))
      .then((result) => {
        waiters.get(item.key)!(result);
        startNext();
      });
  };
  for (let i = 0; i < parallel; i++) startNext();
}

beforeAll(async () => {
  await buildDist();
  if (TARGETS.some(needsBuild)) await buildForNode20();
  const queued: QueuedRun[] = [];
  for (const backend of [...BACKENDS].reverse()) {
    for (const target of TARGETS) {
      const runner = needsBuild(target)
        ? join(NODE20_BUILD, "conformance/runner.js")
        : join(HERE, "runner.ts");
      const env: Record<string, string> = {
        ...target.env,
        SITQ_CONFORMANCE_BACKENDS: backend,
      };
      if (backend === "postgres") {
        env.SITQ_CONFORMANCE_FACTORIES = POSTGRES_FACTORY;
      }
      if (postgres.url !== undefined) {
        env.SITQ_TEST_POSTGRES_URL = postgres.url;
      }
      queued.push({
        key: `${target.label} ${backend}`,
        start: async () => {
          const started = performance.now();
          const result = await run(target.command(runner), {
            env,
            timeout: RUN_TIMEOUT,
          });
          const seconds = ((performance.now() - started) / 1000).toFixed(0);
          console.log(`[${target.label} ${backend}] ran in ${seconds} s`);
          return result;
        },
      });
    }
  }
  startInTurn(queued, PARALLEL_RUNS);
}, 120_000);

afterAll(() => rmSync(NODE20_BUILD, { recursive: true, force: true }));

/** Expects the run of `label` on `backend` to have passed all `expected`. */
async function expectAllPassed(
  label: string,
  backend: BackendName,
): Promise<void> {
  const result = await runs.get(`${label} ${backend}`)!;
  // Everything but the passing tests' lines: the failures with their
  // stacks, then the count.
  const lines = result.stdout.split("\n");
  const report = lines.filter((line) => !line.startsWith("ok ")).join("\n");
  if (result.code === 137) {
    // Killed by the hang guard: name the last test that passed, since the
    // one after it is the one that hung.
    const last = lines.findLast((line) => line.startsWith("ok "));
    throw new Error(
      `the run was killed after ${RUN_TIMEOUT} ms; the last test to pass: ${
        last ?? "none"
      }\n${report}\n${result.stderr}`,
    );
  }
  expect({ code: result.code, report }, result.stderr).toEqual({
    code: 0,
    report: `${EXPECTED[backend]} passed, 0 failed\n`,
  });
}

describe.each(TARGETS.map((target) => [target.label, target] as const))(
  "%s",
  (label, target) => {
    test(
      `runs the backend conformance suite on ${target.driver}: all ${EXPECTED.sqlite} pass`,
      () => expectAllPassed(label, "sqlite"),
      WHOLE_TIMEOUT,
    );
    if (BACKENDS.includes("postgres")) {
      test(
        `runs the backend conformance suite on PostgreSQL (pg): all ${EXPECTED.postgres} pass`,
        () => expectAllPassed(label, "postgres"),
        WHOLE_TIMEOUT,
      );
    } else if ("required" in postgres) {
      test("runs the backend conformance suite on PostgreSQL (pg)", () => {
        throw new Error(postgres.reason);
      });
    }
  },
);
