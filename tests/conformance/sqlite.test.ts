/**
 * The backend conformance suite on SQLite under `bun test`, in this process
 * on the `.ts` sources (bun:sqlite): a file, `:memory:`, and three backends
 * on one file. The same suite runs on Deno and Node in runtimes.test.ts.
 */
import { describe, test } from "bun:test";
import { pathToFileURL } from "node:url";
import * as sitq from "../../mod.ts";
import { backendSuite } from "./backend_suite.ts";
import { fullName, runTest } from "./harness.ts";
import { sqliteFactories } from "./sqlite_factories.ts";

const sitqModule = pathToFileURL(`${import.meta.dir}/../../mod.ts`).href;

for (const factory of sqliteFactories(sitq)) {
  describe(factory.name, () => {
    for (const entry of backendSuite(factory)) {
      // Bun's own timeout sits above the suite's hang guard, so that the
      // guard's message (which names the test) is the one seen.
      test(
        fullName(entry),
        () => runTest(entry, { sitq, sitqModule, factory }),
        entry.timeout + 5_000,
      );
    }
  });
}
