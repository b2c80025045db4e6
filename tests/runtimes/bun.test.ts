/**
 * The end-to-end scenario on Bun, in a child process on the `.ts` sources:
 * bun:sqlite is the driver.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupTempDirs, ROOT, tempDbPath } from "../helpers.ts";
import {
  expectScenarioFacts,
  runFacts,
  sourceCommand,
} from "./scenario_runner.ts";

afterAll(cleanupTempDirs);

test("bun runs the whole scenario on bun:sqlite", async () => {
  const facts = await runFacts(sourceCommand.bun("full", tempDbPath()));
  expect(facts.entry).toBe(`file://${ROOT}/mod.ts`);
  expectScenarioFacts(facts, "bun", "bun:sqlite");
});
