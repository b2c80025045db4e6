/**
 * The end-to-end scenario on Deno, on the `.ts` sources with no build step:
 * node:sqlite is the driver.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupTempDirs, ROOT, tempDbPath } from "../helpers.ts";
import {
  expectScenarioFacts,
  runFacts,
  sourceCommand,
} from "./scenario_runner.ts";

afterAll(cleanupTempDirs);

test("deno runs the whole scenario on node:sqlite from the .ts sources", async () => {
  const facts = await runFacts(sourceCommand.deno("full", tempDbPath()));
  expect(facts.entry).toBe(`file://${ROOT}/mod.ts`);
  expectScenarioFacts(facts, "deno", "node:sqlite");
});
