/**
 * The end-to-end scenario on Deno, on the `.ts` sources with no build step:
 * node:sqlite is the driver.
 */
import { afterAll, test } from "bun:test";
import { cleanupTempDirs, tempDbPath } from "../helpers.ts";
import {
  expectExitWithoutClose,
  expectSourceScenario,
  runFacts,
  sourceCommand,
} from "./scenario_runner.ts";

afterAll(cleanupTempDirs);

test("deno runs the whole scenario on node:sqlite from the .ts sources", async () => {
  await expectSourceScenario("deno", "node:sqlite");
});

test("deno exits by itself when a script stops its worker but never closes the queue", async () => {
  await expectExitWithoutClose(
    "deno",
    runFacts(sourceCommand.deno("noclose", tempDbPath())),
  );
});
