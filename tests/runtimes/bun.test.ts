/**
 * The end-to-end scenario on Bun, in a child process on the `.ts` sources:
 * bun:sqlite is the driver.
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

test("bun runs the whole scenario on bun:sqlite", async () => {
  await expectSourceScenario("bun", "bun:sqlite");
});

test("bun exits by itself when a script stops its worker but never closes the queue", async () => {
  await expectExitWithoutClose(
    "bun",
    runFacts(sourceCommand.bun("noclose", tempDbPath())),
  );
});
