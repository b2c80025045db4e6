/**
 * One file, three runtimes, three drivers: Node enqueues through the built
 * package (the oldest Node tested: better-sqlite3 on Node 20), Deno runs the tasks from the sources
 * (node:sqlite), Bun reads the results (bun:sqlite). Proves the drivers share
 * one file format and one serialized form of arguments and results.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanupTempDirs, tempDbPath } from "../helpers.ts";
import { NODE_RUNTIMES } from "../node_versions.ts";
import {
  buildDist,
  COMMON_FACTS,
  runFacts,
  runNodeConsumer,
  sourceCommand,
} from "./scenario_runner.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanupTempDirs);

test("node enqueues, deno runs, bun reads the same file", async () => {
  const db = tempDbPath();

  const node = NODE_RUNTIMES[0]!;
  const enqueued = await runNodeConsumer("enqueue", db, node.bin);
  expect(enqueued.runtime).toBe("node");
  expect(enqueued.driver).toBe(node.driver);
  expect(enqueued.ids).toEqual([1, 2, 3, 4]);

  const worked = await runFacts(sourceCommand.deno("work", db));
  expect({ runtime: worked.runtime, driver: worked.driver, ran: worked.ran })
    .toEqual({ runtime: "deno", driver: "node:sqlite", ran: 4 });

  const read = await runFacts(sourceCommand.bun("read", db));
  expect(read).toMatchObject({
    runtime: "bun",
    driver: "bun:sqlite",
    describe: COMMON_FACTS.describe,
    squares: [4, 9, 16],
    stats: {
      waiting: 0,
      queued: 0,
      running: 0,
      completed: 4,
      failed: 0,
      cancelled: 0,
    },
  });
});
