/**
 * The end-to-end scenario on Bun, in a child process on the `.ts` sources:
 * bun:sqlite is the driver.
 */
import { afterAll, test } from "bun:test";
import { cleanupTempDirs } from "../helpers.ts";
import { expectSourceScenario } from "./scenario_runner.ts";

afterAll(cleanupTempDirs);

test("bun runs the whole scenario on bun:sqlite", async () => {
  await expectSourceScenario("bun", "bun:sqlite");
});
