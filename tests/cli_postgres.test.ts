/**
 * The `sitq` command on the tests' real PostgreSQL server (a fresh schema
 * per runtime, `--schema`): reading, changing tasks, and `worker` with two
 * processes, on Bun, Deno and Node 20 (dist/).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { QueueStats, TaskRecord } from "../mod.ts";
import { cpSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import {
  BIN,
  cleanup,
  numberedArgs,
  ROOT,
  run,
  tempDir,
  waitUntil,
} from "./helpers.ts";
import { buildDist } from "./runtimes/matrix.ts";
import {
  buildForCli,
  CLI_ROWS,
  LiveCli,
  seedQueue,
  sitq,
  sitqJson,
} from "./support/cli.ts";
import { describePostgres, postgresQueue } from "./support/postgres_tests.ts";

beforeAll(() => buildForCli(), 120_000);
const live: LiveCli[] = [];
afterAll(async () => {
  for (const cli of live) cli.close();
  await cleanup();
});

await describePostgres("sitq on PostgreSQL", (url) => {
  for (const [label, runtime] of CLI_ROWS) {
    test(`${label}: stats, list, show, retry, cancel, prune`, async () => {
      const { queue, schema } = postgresQueue(url);
      const seeded = await seedQueue(queue);
      const db = ["--db", url, "--schema", schema];
      const stats = await sitqJson<{ statuses: QueueStats }>(runtime, [
        "stats",
        ...db,
      ]);
      expect(stats.statuses).toMatchObject({
        completed: 3,
        failed: 1,
        queued: 2,
      });
      const failed = await sitqJson<{ tasks: TaskRecord[] }>(runtime, [
        "list",
        ...db,
        "--status",
        "failed",
      ]);
      expect(failed.tasks.map((t) => t.id)).toEqual([seeded.failed]);
      const shown = await sitqJson<TaskRecord>(runtime, [
        "show",
        String(seeded.failed),
        ...db,
      ]);
      expect(shown.history).toHaveLength(2);
      expect((await sitq(runtime, ["show", "999999", ...db])).code).toBe(3);
      await sitqJson(runtime, ["retry", String(seeded.failed), ...db]);
      expect((await queue.getResult(seeded.failed)).status).toBe("queued");
      await sitqJson(runtime, ["cancel", ...db, "--name", "idle"]);
      expect((await queue.getResult(seeded.queued)).status).toBe("cancelled");
      const pruned = await sitqJson<{ changed: number }>(runtime, [
        "prune",
        ...db,
        "--status",
        "completed",
      ]);
      expect(pruned.changed).toBe(3);
      expect((await queue.stats()).completed).toBe(0);
      // SITQ_DATABASE holds the URL as well.
      const fromEnv = await sitqJson<{ statuses: QueueStats }>(
        runtime,
        ["stats", "--schema", schema],
        { SITQ_DATABASE: url },
      );
      expect(fromEnv.statuses.completed).toBe(0);
    }, 120_000);

    test(
      `${label}: worker --processes 2 drains the queue and stops on SIGTERM`,
      async () => {
        const { queue, schema } = postgresQueue(url);
        const double = queue.task("double", (n: number) => n * 2);
        const ids = await queue.enqueueMany(double, numberedArgs(30));
        const cli = new LiveCli(runtime, [
          "worker",
          join(ROOT, "tests/fixtures/cli_tasks.mjs"),
          "--db",
          url,
          "--schema",
          schema,
          "--processes",
          "2",
        ]);
        live.push(cli);
        await cli.waitForStderr(/worker process (\d) started \(pid (\d+)\)/, 2);
        await waitUntil(
          async () => (await queue.workers()).length === 2,
          "two live workers",
        );
        await waitUntil(
          async () => (await queue.stats()).completed === ids.length,
          "all completed",
        );
        expect(await cli.stop("SIGTERM")).toBe(0);
        expect(await queue.workers()).toEqual([]);
      },
      120_000,
    );
  }
});

test(
  "an unreachable PostgreSQL server is one clear line with its code, exit 5",
  async () => {
    const result = await sitq(CLI_ROWS[0]![1], [
      "stats",
      "--db",
      "postgres://sitq@127.0.0.1:1/none",
    ]);
    expect(result.code).toBe(5);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/\[(CONNECTION_FAILED|CANNOT_OPEN)\]$/m);
  },
  60_000,
);

test(
  "without pg installed: one line saying so (DRIVER_NOT_FOUND), exit 5",
  async () => {
    // The built package in a directory whose node_modules has every
    // dependency but pg: Node finds no pg from there.
    await buildDist();
    const dir = tempDir();
    cpSync(join(ROOT, "dist"), join(dir, "pkg/dist"), { recursive: true });
    cpSync(join(ROOT, "package.json"), join(dir, "pkg/package.json"));
    mkdirSync(join(dir, "node_modules"));
    for (const name of readdirSync(join(ROOT, "node_modules"))) {
      if (
        name === "pg" || name.startsWith("pg-") || name.startsWith(".")
      ) continue;
      symlinkSync(
        join(ROOT, "node_modules", name),
        join(dir, "node_modules", name),
      );
    }
    const result = await run([
      BIN.node,
      join(dir, "pkg/dist/cli.js"),
      "stats",
      "--db",
      "postgres://127.0.0.1:1/x",
    ], {
      env: { SITQ_DATABASE: "" },
    });
    expect(result.code).toBe(5);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("[DRIVER_NOT_FOUND]");
    expect(result.stderr).toContain("pg");
  },
  120_000,
);
