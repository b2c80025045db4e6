/**
 * Runs a cross-process section of the conformance suite under `bun test`,
 * on one store of each kind child processes can open: the first SQLite
 * file factory and the tests' PostgreSQL server (a missing server is a
 * skip locally and a failure under CI, as tests/support/postgres_tests.ts
 * decides). One store of each kind is enough: the processes are the test.
 */
import { describe, test } from "bun:test";
import { pathToFileURL } from "node:url";
import * as sitq from "../../mod.ts";
import {
  collectTests,
  fullName,
  postgresModuleOf,
  runTest,
  type SitqPostgres,
  type Suite,
} from "../conformance/harness.ts";
import { postgresFactories } from "../conformance/postgres_factories.ts";
import { sqliteFactories } from "../conformance/sqlite_factories.ts";
import { describePostgres } from "./postgres_tests.ts";

const sitqModule = pathToFileURL(`${import.meta.dir}/../../mod.ts`).href;

/** Registers `section`'s tests for an SQLite file and for PostgreSQL. */
export async function describeProcessSection(
  section: (suite: Suite) => void,
): Promise<void> {
  const sitqPostgres = await import(
    postgresModuleOf(sitqModule)
  ) as SitqPostgres;
  const [sqliteFile] = sqliteFactories(sitq).filter((f) => f.processes);
  describe(sqliteFile!.name, () => {
    for (const entry of collectTests(sqliteFile!, section)) {
      test(
        fullName(entry),
        () => runTest(entry, { sitq, sitqModule, factory: sqliteFile! }),
        entry.timeout + 5_000,
      );
    }
  });
  await describePostgres("PostgreSQL", (url) => {
    const [factory] = postgresFactories(sitqPostgres, url);
    for (const entry of collectTests(factory!, section)) {
      test(
        `${factory!.name} › ${fullName(entry)}`,
        () => runTest(entry, { sitq, sitqModule, factory: factory! }),
        entry.timeout + 5_000,
      );
    }
  });
}
