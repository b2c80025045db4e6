/**
 * The conformance suite's own tiny test API, so that one suite source runs
 * on every runtime: under `bun test` in-process (tests/conformance/sqlite.test.ts)
 * and as a plain script on Deno and Node (tests/conformance/runner.ts).
 *
 * A suite file registers tests on a {@linkcode Suite}; an adapter collects
 * them with {@linkcode collectTests} and runs each with {@linkcode runTest}.
 * Assertions come from `node:assert/strict`, which every runtime has. A test
 * gets a {@linkcode TestContext}: its backend, more connections to the same
 * store, a scratch directory and the public entry of sitq, all cleaned up
 * when it ends.
 *
 * Tests wait for states ({@linkcode waitFor}), never for amounts of time;
 * every wait and every test has a generous hang guard that is never the
 * thing under test.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../../lib/storage/backend.ts";

/** The public entry of sitq (mod.ts, or the built dist/mod.js on Node). */
export type Sitq = typeof import("../../mod.ts");

/**
 * sitq's PostgreSQL entry (postgres.ts, or the built dist/postgres.js on
 * Node), found beside the public entry: see {@linkcode postgresModuleOf}.
 */
export type SitqPostgres = typeof import("../../postgres.ts");

/**
 * How a child process opens a store (JSON, handed to
 * tests/fixtures/conformance_claimer.mjs): `{ backend: "sqlite", path }`, or
 * `{ backend: "postgres", url, schema }` for one schema of a server. A new
 * backend adds its own shape and a case in that fixture.
 */
export type StoreSpec =
  | { backend: "sqlite"; path: string }
  | { backend: "postgres"; url: string; schema: string };

/**
 * The URL of sitq's PostgreSQL entry beside its public entry `sitqModule`:
 * `…/mod.ts` → `…/postgres.ts`, `…/dist/mod.js` → `…/dist/postgres.js`.
 */
export function postgresModuleOf(sitqModule: string): string {
  return sitqModule.replace(/\bmod\.(ts|js)$/, "postgres.$1");
}

/** One test's store: a fresh, empty database. */
export interface Store {
  /** The backend the test drives: one object, or several behind one face. */
  readonly backend: Backend;
  /**
   * A new backend object (connection) on this store. Present when the
   * factory's `connections` is true.
   */
  connect?(): Backend;
  /** How a child process opens this store; present when `processes` is true. */
  readonly spec?: StoreSpec;
  /** The database file, for SQLite-only tests; absent for `:memory:`. */
  readonly path?: string;
  /** Drops what the store left behind, after its backends are closed. */
  dispose?(): Promise<void>;
}

/**
 * What a backend's run of the suite is made of. Adding a backend to the
 * suite is adding one of these (and a case for its {@linkcode StoreSpec}).
 */
export interface BackendFactory {
  /** The run's title, e.g. "SQLite file". */
  readonly name: string;
  /** The backend family: tests that only make sense for one name it. */
  readonly family: "sqlite" | "postgres";
  /** Whether several backend objects can share one store (`Store.connect`). */
  readonly connections: boolean;
  /** Whether child processes can open the store (`Store.spec`). */
  readonly processes: boolean;
  /**
   * A fresh, empty store for one test; nothing needs to be open yet.
   *
   * @param scratch A fresh directory of the test's own, removed after it.
   */
  createStore(scratch: string): Store;
}

/** What a test receives. */
export interface TestContext {
  /** The public entry of sitq the suite runs against. */
  readonly sitq: Sitq;
  /** Its module URL, for child processes (`SITQ_MODULE`). */
  readonly sitqModule: string;
  /** The factory this run tests. */
  readonly factory: BackendFactory;
  /** This test's store, created on first use. */
  store(): Store;
  /** This test's backend under test (`store().backend`). */
  backend(): Backend;
  /**
   * Another connection to this test's store, closed after the test.
   *
   * @throws {Error} Unless the factory has `connections`.
   */
  connect(): Backend;
  /** A fresh directory, removed after the test. */
  tempDir(): string;
  /** Runs `fn` after the test, before its backends close (newest first). */
  defer(fn: () => unknown): void;
}

/** Options of one test. */
export interface TestOptions {
  /** Hang guard in ms (default 20,000); the test fails past it. */
  timeout?: number;
}

/** A registered test, ready for an adapter to run. */
export interface ConformanceTest {
  /** Titles of the groups it is in, outermost first. */
  readonly groups: readonly string[];
  /** Its title. */
  readonly name: string;
  /** Its hang guard in ms. */
  readonly timeout: number;
  /** The test body. */
  readonly fn: (t: TestContext) => Promise<void>;
}

/** Where suite files register their tests. */
export interface Suite {
  /** The factory being tested: tests may depend on its capabilities. */
  readonly factory: BackendFactory;
  /** Registers the tests `body` registers under the title `name`. */
  describe(name: string, body: () => void): void;
  /** Registers one test. */
  test(
    name: string,
    fn: (t: TestContext) => Promise<void>,
    options?: TestOptions,
  ): void;
}

const DEFAULT_TIMEOUT = 20_000;

/** Runs `register` against `factory` and returns the tests it registered. */
export function collectTests(
  factory: BackendFactory,
  register: (suite: Suite) => void,
): ConformanceTest[] {
  const tests: ConformanceTest[] = [];
  const groups: string[] = [];
  register({
    factory,
    describe(name, body) {
      groups.push(name);
      try {
        body();
      } finally {
        groups.pop();
      }
    },
    test(name, fn, options = {}) {
      tests.push({
        groups: [...groups],
        name,
        timeout: options.timeout ?? DEFAULT_TIMEOUT,
        fn,
      });
    },
  });
  return tests;
}

/** What {@linkcode runTest} needs besides the test. */
export interface RunEnvironment {
  /** The public entry of sitq. */
  sitq: Sitq;
  /** Its module URL, for child processes. */
  sitqModule: string;
  /** The factory under test. */
  factory: BackendFactory;
}

/**
 * Runs one test with its hang guard, then cleans up whatever it made:
 * deferred functions, backends (closed), the store (disposed) and scratch
 * directories. Rejects with the test's error, or with a cleanup error.
 */
export async function runTest(
  test: ConformanceTest,
  env: RunEnvironment,
): Promise<void> {
  const dirs: string[] = [];
  const deferred: Array<() => unknown> = [];
  const backends: Backend[] = [];
  let store: Store | undefined;
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "sitq-conformance-"));
    dirs.push(dir);
    return dir;
  };
  const context: TestContext = {
    sitq: env.sitq,
    sitqModule: env.sitqModule,
    factory: env.factory,
    store() {
      if (store === undefined) {
        store = env.factory.createStore(tempDir());
        backends.push(store.backend);
      }
      return store;
    },
    backend: () => context.store().backend,
    connect() {
      const made = context.store().connect?.();
      if (made === undefined) {
        throw new Error(`${env.factory.name} cannot open a second connection`);
      }
      backends.push(made);
      return made;
    },
    tempDir,
    defer: (fn) => void deferred.push(fn),
  };
  let failure: unknown;
  const body = test.fn(context);
  // Past its hang guard the body may still fail later, once cleanup has
  // closed its backends: that must not surface as an unhandled rejection.
  body.catch(() => {});
  try {
    await withHangGuard(body, test.timeout, test.name);
  } catch (error) {
    failure = error;
  }
  try {
    for (const fn of deferred.reverse()) await fn();
    for (const backend of backends.reverse()) await backend.close();
    await store?.dispose?.();
  } catch (error) {
    failure ??= error;
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  if (failure !== undefined) throw failure;
}

function withHangGuard<T>(
  promise: Promise<T>,
  timeout: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Hang guard: "${what}" ran over ${timeout} ms`)),
      timeout,
    );
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** The full title of `test`: its groups and name joined by " › ". */
export function fullName(test: ConformanceTest): string {
  return [...test.groups, test.name].join(" › ");
}

/**
 * Resolves once `condition` holds (it may be async), checking every 5 ms;
 * rejects after `timeout` ms (default 10,000) with `what` in the message.
 * The timeout is a hang guard, never the thing under test.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeout = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
