/**
 * The end-to-end scenario on Node, as an npm user runs sitq: the built
 * dist/ resolved through package.json `exports` from a consumer directory.
 * Node 20 has no node:sqlite, so better-sqlite3 is the driver there.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cleanupTempDirs, ROOT, tempDbPath } from "../helpers.ts";
import {
  buildDist,
  expectExitWithoutClose,
  expectScenarioFacts,
  nodeDrivers,
  nodeMajor,
  runNodeConsumer,
} from "./scenario_runner.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanupTempDirs);

test("node runs the whole scenario on the built package", async () => {
  const facts = await runNodeConsumer("full", tempDbPath());
  // "sitq" resolved to the exports map's target, not to the sources.
  expect(realpathSync(fileURLToPath(facts.entry))).toBe(
    realpathSync(`${ROOT}/dist/mod.js`),
  );
  expect(await nodeDrivers()).toContain(facts.driver);
  expectScenarioFacts(facts, "node", facts.driver);
});

test("the default node is Node 20, so better-sqlite3 is the driver tested", async () => {
  // A newer node would silently test node:sqlite twice (with Deno) and
  // better-sqlite3 never; SITQ_NODE picks another node on purpose.
  if (process.env.SITQ_NODE !== undefined) return;
  expect(await nodeMajor()).toBe(20);
  expect(await nodeDrivers()).toEqual(["better-sqlite3"]);
});

test("node exits by itself when a script stops its worker but never closes the queue", async () => {
  await expectExitWithoutClose(
    "node",
    runNodeConsumer("noclose", tempDbPath()),
  );
});
