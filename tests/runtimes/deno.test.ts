/**
 * The end-to-end scenario on Deno, on the `.ts` sources with no build step:
 * node:sqlite is the driver.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  BIN,
  cleanupTempDirs,
  ROOT,
  run,
  type RunResult,
  tempDbPath,
  tempDir,
} from "../helpers.ts";
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

/**
 * Runs tests/fixtures/deno_permissions.mjs on `db` in a fresh directory
 * (with a `data/` folder) under exactly `permissions`.
 */
function runWithPermissions(
  db: string,
  permissions: readonly string[],
): Promise<RunResult> {
  const dir = tempDir();
  mkdirSync(join(dir, "data"));
  return run([
    BIN.deno,
    "run",
    "--no-prompt",
    "--config",
    join(ROOT, "deno.json"),
    ...permissions,
    join(ROOT, "tests/fixtures/deno_permissions.mjs"),
    db,
  ], { cwd: dir, timeout: 60_000 });
}

// The README's Deno section promises that these permissions are enough.
test.each(
  [
    ["a file under ./data", "data/tasks.db", [
      "--allow-read=./data",
      "--allow-write=./data",
    ]],
    [":memory:", ":memory:", []],
  ] as const,
)(
  "deno runs a whole job on %s with only the permissions the README names",
  async (_, db, permissions) => {
    const result = await runWithPermissions(db, permissions);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 0,
      stderr: "",
    });
    expect(JSON.parse(result.stdout)).toEqual({
      status: "completed",
      value: 3,
      attempts: 1,
    });
  },
  90_000,
);

test(
  "deno without permission to the file: CANNOT_OPEN that names the flags to add",
  async () => {
    const result = await runWithPermissions("tasks.db", []);
    expect(result.code, result.stderr).toBe(0);
    const { error } = JSON.parse(result.stdout);
    expect(error).toMatchObject({ name: "DatabaseError", code: "CANNOT_OPEN" });
    expect(error.message).toContain("--allow-read");
    expect(error.message).toContain("--allow-write");
  },
  90_000,
);
