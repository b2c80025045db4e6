/**
 * Named queues across real processes, on an SQLite file and on PostgreSQL
 * (the tests' server; see tests/support/postgres_tests.ts): the
 * cross-process section of the conformance suite
 * (tests/conformance/queue_processes.ts), run for each store that child
 * processes can open: a global concurrency limit and a rate limit across
 * three worker processes, a pause they obey, workers' queue lists.
 */
import { describe, test } from "bun:test";
import { pathToFileURL } from "node:url";
import * as sitq from "../mod.ts";
import {
  collectTests,
  fullName,
  postgresModuleOf,
  runTest,
  type SitqPostgres,
} from "./conformance/harness.ts";
import { postgresFactories } from "./conformance/postgres_factories.ts";
import { queueProcessTests } from "./conformance/queue_processes.ts";
import { sqliteFactories } from "./conformance/sqlite_factories.ts";
import { describePostgres } from "./support/postgres_tests.ts";

const sitqModule = pathToFileURL(`${import.meta.dir}/../mod.ts`).href;
const sitqPostgres = await import(postgresModuleOf(sitqModule)) as SitqPostgres;

// One store of each kind is enough: the processes are the test.
const [sqliteFile] = sqliteFactories(sitq).filter((f) => f.processes);

describe(sqliteFile!.name, () => {
  for (const entry of collectTests(sqliteFile!, queueProcessTests)) {
    test(
      fullName(entry),
      () => runTest(entry, { sitq, sitqModule, factory: sqliteFile! }),
      entry.timeout + 5_000,
    );
  }
});

await describePostgres("PostgreSQL", (url) => {
  const [factory] = postgresFactories(sitqPostgres, url);
  for (const entry of collectTests(factory!, queueProcessTests)) {
    test(
      `${factory!.name} › ${fullName(entry)}`,
      () => runTest(entry, { sitq, sitqModule, factory: factory! }),
      entry.timeout + 5_000,
    );
  }
});
