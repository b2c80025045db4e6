/**
 * The backend conformance suite on PostgreSQL under `bun test`, in this
 * process on the `.ts` sources, on the tests' server (SITQ_TEST_POSTGRES_URL
 * or a private cluster of this process; see tests/support/postgres_server.ts):
 * one backend on a schema, and three backends on one schema in turn, each
 * test on a fresh schema. The same suite runs on Deno and Node in
 * runtimes.test.ts.
 */
import { test } from "bun:test";
import { pathToFileURL } from "node:url";
import * as sitq from "../../mod.ts";
import { describePostgres } from "../support/postgres_tests.ts";
import { backendSuite } from "./backend_suite.ts";
import {
  fullName,
  postgresModuleOf,
  runTest,
  type SitqPostgres,
} from "./harness.ts";
import { postgresFactories } from "./postgres_factories.ts";

const sitqModule = pathToFileURL(`${import.meta.dir}/../../mod.ts`).href;
const sitqPostgres = await import(postgresModuleOf(sitqModule)) as SitqPostgres;

await describePostgres("PostgreSQL conformance", (url) => {
  for (const factory of postgresFactories(sitqPostgres, url)) {
    for (const entry of backendSuite(factory)) {
      // Bun's own timeout sits above the suite's hang guard, so that the
      // guard's message (which names the test) is the one seen.
      test(
        `${factory.name} › ${fullName(entry)}`,
        () => runTest(entry, { sitq, sitqModule, factory }),
        entry.timeout + 5_000,
      );
    }
  }
});
