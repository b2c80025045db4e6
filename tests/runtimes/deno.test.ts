/**
 * The end-to-end scenario on Deno, on the `.ts` sources with no build step:
 * node:sqlite is the driver.
 */
import { afterAll, test } from "bun:test";
import { cleanupTempDirs } from "../helpers.ts";
import { expectSourceScenario } from "./scenario_runner.ts";

afterAll(cleanupTempDirs);

test("deno runs the whole scenario on node:sqlite from the .ts sources", async () => {
  await expectSourceScenario("deno", "node:sqlite");
});
