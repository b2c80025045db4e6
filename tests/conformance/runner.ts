/**
 * Runs the backend conformance suite on SQLite and PostgreSQL as a plain
 * script, for the runtimes that do not run `bun test`: Deno on the `.ts`
 * sources, Node 22 and 24 by stripping the types, Node 20 on a tsc build of
 * this folder. Spawned by runtimes.test.ts; sitq comes from `SITQ_MODULE`
 * (mod.ts, or the built dist/mod.js on Node), exactly as the tests'
 * fixtures load it, and its PostgreSQL entry from the file beside it.
 *
 * `SITQ_CONFORMANCE_BACKENDS` picks the runs: `sqlite`, `postgres`, or both
 * (`sqlite,postgres`); `SITQ_CONFORMANCE_FACTORIES`, when set, keeps only
 * the factories it names (comma-separated, e.g. `PostgreSQL`). PostgreSQL
 * runs on the server at `SITQ_TEST_POSTGRES_URL`; asked for without it, the
 * run fails. The default is both when that URL is set, else SQLite alone.
 *
 * Prints a line per test and ends with `N passed, M failed`; exits 1 if any
 * failed. `SITQ_CONFORMANCE_FILTER` runs only the tests whose full name
 * contains it.
 *
 * Usage: `deno run -A tests/conformance/runner.ts`,
 * `node tests/conformance/runner.ts` (Node 22+).
 *
 * @module
 */
import process from "node:process";
import { backendSuite } from "./backend_suite.ts";
import {
  type BackendFactory,
  fullName,
  postgresModuleOf,
  runTest,
  type Sitq,
  type SitqPostgres,
} from "./harness.ts";
import { postgresFactories } from "./postgres_factories.ts";
import { sqliteFactories } from "./sqlite_factories.ts";

const sitqModule = process.env.SITQ_MODULE;
if (sitqModule === undefined) {
  throw new Error("Set SITQ_MODULE to the URL of sitq's entry module");
}
const sitq = await import(sitqModule) as Sitq;
const filter = process.env.SITQ_CONFORMANCE_FILTER ?? "";
const backends = (process.env.SITQ_CONFORMANCE_BACKENDS ??
  (process.env.SITQ_TEST_POSTGRES_URL ? "sqlite,postgres" : "sqlite"))
  .split(",");

const factories: BackendFactory[] = [];
if (backends.includes("sqlite")) factories.push(...sqliteFactories(sitq));
if (backends.includes("postgres")) {
  const url = process.env.SITQ_TEST_POSTGRES_URL;
  if (!url) {
    throw new Error("Set SITQ_TEST_POSTGRES_URL to run the PostgreSQL suite");
  }
  const sitqPostgres = await import(
    postgresModuleOf(sitqModule)
  ) as SitqPostgres;
  factories.push(...postgresFactories(sitqPostgres, url));
}

const only = process.env.SITQ_CONFORMANCE_FACTORIES?.split(",");
const chosen = only === undefined
  ? factories
  : factories.filter((factory) => only.includes(factory.name));
if (only !== undefined && chosen.length !== only.length) {
  throw new Error(
    `SITQ_CONFORMANCE_FACTORIES=${only.join(",")} names a factory that is not ${
      factories.map((factory) => factory.name).join(", ")
    }`,
  );
}

let passed = 0;
let failed = 0;
for (const factory of chosen) {
  for (const entry of backendSuite(factory)) {
    const name = `${factory.name} › ${fullName(entry)}`;
    if (!name.includes(filter)) continue;
    const started = performance.now();
    try {
      await runTest(entry, { sitq, sitqModule, factory });
      passed++;
      console.log(
        `ok   ${name} (${Math.round(performance.now() - started)} ms)`,
      );
    } catch (error) {
      failed++;
      console.log(`FAIL ${name}`);
      console.log(
        String((error as Error)?.stack ?? error).replace(/^/gm, "     "),
      );
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
// Exit now: a test stopped by its hang guard may have left timers behind.
process.exit(failed === 0 ? 0 : 1);
