/**
 * The end-to-end scenario on every Node users run (see tests/node_versions.ts),
 * as an npm user runs sitq: the built dist/ resolved through package.json
 * `exports` from a consumer directory. Node 20 has no node:sqlite, so
 * better-sqlite3 is the driver there; Node 22 and 24 use node:sqlite.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cleanupTempDirs, ROOT, run, tempDbPath } from "../helpers.ts";
import { NODE_RUNTIMES } from "../node_versions.ts";
import {
  buildDist,
  expectExitWithoutClose,
  expectScenarioFacts,
  runNodeConsumer,
} from "./scenario_runner.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanupTempDirs);

test("the suite runs on Node 20, 22 and 24", () => {
  // SITQ_NODE_MAJORS narrows the list on purpose; otherwise all three.
  if (process.env.SITQ_NODE_MAJORS !== undefined) return;
  expect(NODE_RUNTIMES.map((node) => [node.major, node.driver])).toEqual([
    [20, "better-sqlite3"],
    [22, "node:sqlite"],
    [24, "node:sqlite"],
  ]);
});

describe.each(NODE_RUNTIMES.map((node) => [node.label, node] as const))(
  "%s",
  (_, node) => {
    test("reports the expected version", async () => {
      const { stdout } = await run([node.bin, "--version"]);
      expect(Number(/^v(\d+)/.exec(stdout)?.[1])).toBe(node.major);
    });

    test("runs the whole scenario on the built package, with its driver", async () => {
      const facts = await runNodeConsumer("full", tempDbPath(), node.bin);
      // "sitq" resolved to the exports map's target, not to the sources.
      expect(realpathSync(fileURLToPath(facts.entry))).toBe(
        realpathSync(`${ROOT}/dist/mod.js`),
      );
      expectScenarioFacts(facts, "node", node.driver);
    });

    test("exits by itself when a script stops its worker but never closes the queue", async () => {
      await expectExitWithoutClose(
        "node",
        runNodeConsumer("noclose", tempDbPath(), node.bin),
      );
    });
  },
);
