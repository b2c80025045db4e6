/**
 * The `sitq` command on a real SQLite file, run as a child process on Bun
 * and Deno (cli.ts) and Node 20 (dist/cli.js): the read commands' JSON
 * and tables, the exit codes, and the commands that change the database
 * (checked through the API afterwards).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { QueueStats, TaskRecord, TaskStatus } from "../mod.ts";
import { parseExposition, sampleValue } from "./support/prometheus.ts";
import { cleanup, newQueue, run, tempDbPath, tempDir } from "./helpers.ts";
import {
  buildForCli,
  CLI_ROWS,
  LiveCli,
  type Seeded,
  seedQueue,
  sitq,
  sitqJson,
} from "./support/cli.ts";

beforeAll(() => buildForCli(), 120_000);
const live: LiveCli[] = [];
afterAll(async () => {
  for (const cli of live) cli.close();
  await cleanup();
});

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

interface StatsJson {
  statuses: QueueStats;
  names: Record<string, QueueStats>;
  queues: {
    name: string;
    paused: boolean;
    counts: Partial<Record<TaskStatus, number>>;
  }[];
}

describe.each(CLI_ROWS)("sitq on %s", (_label, runtime) => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  let seeded: Seeded;

  beforeAll(async () => {
    seeded = await seedQueue(queue);
    await queue.schedules.set("nightly", {
      task: queue.task("report", () => null),
      args: [],
      cron: "0 3 * * *",
    });
  }, 60_000);

  test("stats --json counts per status, task name and queue", async () => {
    const stats = await sitqJson<StatsJson>(runtime, ["stats", path]);
    expect(stats.statuses).toEqual({
      waiting: 0,
      queued: 2,
      running: 0,
      completed: 3,
      failed: 1,
      cancelled: 0,
    });
    expect(stats.names.ok?.completed).toBe(3);
    expect(stats.names.bad?.failed).toBe(1);
    expect(stats.names.mail?.queued).toBe(1);
    const mail = stats.queues.find((q) => q.name === "mail");
    expect(mail).toMatchObject({ paused: false, counts: { queued: 1 } });
    expect(stats.queues.find((q) => q.name === "default")?.counts)
      .toMatchObject({ completed: 3, failed: 1, queued: 1 });
  }, 30_000);

  test("stats prints tables for people", async () => {
    const result = await sitq(runtime, ["stats", path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^status\s+tasks$/m);
    expect(result.stdout).toMatch(/^completed\s+3$/m);
    expect(result.stdout).toMatch(/^ok\s+0\s+0\s+0\s+3\s+0\s+0$/m);
    expect(result.stdout).toMatch(/^mail\s+no\s+0\s+1\s/m);
  }, 30_000);

  test(
    "list filters by status and queue, and pages with --limit/--after",
    async () => {
      const failed = await sitqJson<{ tasks: TaskRecord[] }>(runtime, [
        "list",
        path,
        "--status",
        "failed",
      ]);
      expect(failed.tasks.map((t) => t.id)).toEqual([seeded.failed]);
      const mail = await sitqJson<{ tasks: TaskRecord[] }>(runtime, [
        "list",
        path,
        "--queue",
        "mail",
      ]);
      expect(mail.tasks.map((t) => t.id)).toEqual([seeded.delayed]);
      const first = await sitqJson<
        { tasks: TaskRecord[]; nextCursor?: string }
      >(
        runtime,
        ["list", path, "--limit", "4"],
      );
      expect(first.tasks).toHaveLength(4);
      expect(first.nextCursor).toBeString();
      const rest = await sitqJson<{ tasks: TaskRecord[]; nextCursor?: string }>(
        runtime,
        ["list", "--db", path, "--limit", "4", "--after", first.nextCursor!],
      );
      expect(rest.nextCursor).toBeUndefined();
      const ids = [...first.tasks, ...rest.tasks].map((t) => t.id);
      expect(ids).toEqual(
        [
          seeded.queued,
          seeded.delayed,
          seeded.failed,
          ...[...seeded.completed].reverse(),
        ]
          .sort((a, b) => b - a),
      );
      const table = await sitq(runtime, [
        "list",
        path,
        "--status",
        "completed",
      ]);
      expect(table.stdout).toMatch(
        new RegExp(
          `^ *${
            seeded.completed[0]
          }\\s+ok\\s+default\\s+completed\\s+1/3\\s+${ISO.source}`,
          "m",
        ),
      );
    },
    30_000,
  );

  test(
    "show gives arguments, error with stack, every attempt, dates",
    async () => {
      const task = await sitqJson<
        TaskRecord & { result: { error: { stack: string } } }
      >(
        runtime,
        ["show", path, String(seeded.failed)],
      );
      expect(task.args).toEqual(["<script>alert(1)</script>"]);
      expect(task.status).toBe("failed");
      expect(task.result.error.stack).toContain("boom: <script>");
      expect(task.history.map((a) => a.outcome)).toEqual(["failed", "failed"]);
      expect(String(task.history[0]!.startedAt)).toMatch(ISO);
      const human = await sitq(runtime, [
        "show",
        String(seeded.failed),
        "--db",
        path,
      ]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(
        new RegExp(`^created\\s+${ISO.source}$`, "m"),
      );
      expect(human.stdout).toContain(
        "error: Error: boom: <script>alert(1)</script>",
      );
      expect(human.stdout).toMatch(/^\s+at /m); // the stack
      expect(human.stdout).not.toContain("\u001b");
      expect(human.stdout).toContain("\\u001b[2J");
      expect(human.stdout).toMatch(
        new RegExp(
          `^\\s+2\\s+\\S+\\s+${ISO.source}\\s+${ISO.source}\\s+\\S+\\s+failed\\s+Error: boom`,
          "m",
        ),
      );
      const done = await sitqJson<
        { result: { value: unknown }; progress: unknown }
      >(runtime, [
        "show",
        path,
        String(seeded.completed[1]),
      ]);
      expect(done.result.value).toEqual({
        n: 2,
        at: "2026-01-02T00:00:00.000Z",
      });
      expect(done.progress).toEqual({ step: 2, of: 3 });
      const progress = await sitq(runtime, [
        "show",
        path,
        String(seeded.completed[1]),
      ]);
      expect(progress.stdout).toMatch(/^progress\s+\{\n\s+"step": 2,/m);
    },
    30_000,
  );

  test(
    "exit codes: 3 not found, 2 usage, 4 invalid state; one line with the code",
    async () => {
      const missing = await sitq(runtime, ["show", path, "999999"]);
      expect(missing.code).toBe(3);
      expect(missing.stderr.trim().split("\n")).toHaveLength(1);
      expect(missing.stderr).toContain("[TASK_NOT_FOUND]");
      expect(missing.stderr).not.toMatch(/^\s+at /m);
      const verbose = await sitq(runtime, [
        "show",
        path,
        "999999",
        "--verbose",
      ]);
      expect(verbose.code).toBe(3);
      expect(verbose.stderr).toMatch(/^\s*at /m);
      expect((await sitq(runtime, ["frobnicate", path])).code).toBe(2);
      expect((await sitq(runtime, ["list", path, "--status", "nope"])).code)
        .toBe(2);
      expect((await sitq(runtime, ["show", path, "abc"])).code).toBe(2);
      const noDb = await sitq(runtime, ["stats"]);
      expect(noDb.code).toBe(2);
      expect(noDb.stderr).toContain("SITQ_DATABASE");
      const noFile = await sitq(runtime, [
        "stats",
        join(tempDir(), "absent.db"),
      ]);
      expect(noFile.code).toBe(3);
      const wrongState = await sitq(runtime, [
        "cancel",
        path,
        String(seeded.completed[0]),
      ]);
      expect(wrongState.code).toBe(4);
      expect(wrongState.stderr).toContain("[INVALID_STATE]");
    },
    60_000,
  );

  test("the database may come from SITQ_DATABASE", async () => {
    const stats = await sitqJson<StatsJson>(runtime, ["stats"], {
      SITQ_DATABASE: path,
    });
    expect(stats.statuses.completed).toBe(3);
  }, 30_000);

  test("schedules: list, pause, remove", async () => {
    const list = await sitqJson<
      { name: string; paused: boolean; cron: string; nextRunAt: string }[]
    >(
      runtime,
      ["schedules", path],
    );
    expect(list.map((s) => [s.name, s.cron, s.paused])).toEqual([[
      "nightly",
      "0 3 * * *",
      false,
    ]]);
    expect(list[0]!.nextRunAt).toMatch(ISO);
    const paused = await sitqJson<{ paused: boolean }>(runtime, [
      "schedules",
      "pause",
      "nightly",
      "--db",
      path,
    ]);
    expect(paused.paused).toBe(true);
    expect((await queue.schedules.get("nightly"))?.paused).toBe(true);
    await sitqJson(runtime, ["schedules", "resume", "nightly", "--db", path]);
    expect((await queue.schedules.get("nightly"))?.paused).toBe(false);
    await sitqJson(runtime, ["schedules", "remove", "nightly", "--db", path]);
    expect(await queue.schedules.get("nightly")).toBeUndefined();
    expect(
      (await sitq(runtime, ["schedules", "remove", "nightly", "--db", path]))
        .code,
    ).toBe(3);
    // Put back for the next runtime's describe? Each has its own database.
  }, 30_000);

  test("pause and resume a queue", async () => {
    const paused = await sitqJson<{ name: string; paused: boolean }>(runtime, [
      "pause",
      "mail",
      "--db",
      path,
    ]);
    expect(paused).toMatchObject({ name: "mail", paused: true });
    expect((await queue.queues.get("mail")).paused).toBe(true);
    const queues = await sitqJson<{ name: string; paused: boolean }[]>(
      runtime,
      ["queues", path],
    );
    expect(queues.find((q) => q.name === "mail")?.paused).toBe(true);
    await sitqJson(runtime, ["resume", "mail", "--db", path]);
    expect((await queue.queues.get("mail")).paused).toBe(false);
  }, 30_000);

  test("retry, cancel and prune change the database", async () => {
    const retried = await sitqJson<{ changed: number; ids: number[] }>(
      runtime,
      [
        "retry",
        path,
        String(seeded.failed),
      ],
    );
    expect(retried).toEqual({ changed: 1, ids: [seeded.failed] });
    expect((await queue.getResult(seeded.failed)).status).toBe("queued");
    const cancelled = await sitq(runtime, [
      "cancel",
      path,
      String(seeded.queued),
      String(seeded.delayed),
    ]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe("cancelled 2 tasks\n");
    expect((await queue.getResult(seeded.queued)).status).toBe("cancelled");
    expect((await queue.getResult(seeded.delayed)).status).toBe("cancelled");
    // By filter: the cancelled "idle" task only.
    const byFilter = await sitqJson<{ changed: number }>(runtime, [
      "retry",
      path,
      "--status",
      "cancelled",
      "--name",
      "idle",
    ]);
    expect(byFilter.changed).toBe(1);
    expect((await queue.getResult(seeded.queued)).status).toBe("queued");
    expect((await queue.getResult(seeded.delayed)).status).toBe("cancelled");
    const pruned = await sitqJson<{ changed: number }>(runtime, [
      "prune",
      path,
      "--status",
      "completed",
      "--older-than",
      "0s",
    ]);
    expect(pruned.changed).toBe(3);
    expect((await queue.stats()).completed).toBe(0);
    // Neither ids nor a filter: a usage error, nothing changed.
    expect((await sitq(runtime, ["prune", path])).code).toBe(2);
    expect((await queue.stats()).cancelled).toBe(1);
  }, 60_000);

  test(
    "prune <id...> deletes the finished tasks given (failed ones too), nothing else",
    async () => {
      const ownPath = tempDbPath();
      const own = newQueue({}, ownPath);
      const mine = await seedQueue(own);
      const [first, second] = mine.completed;
      const pruned = await sitqJson<{ changed: number }>(runtime, [
        "prune",
        ownPath,
        String(first),
        String(mine.failed),
        String(first),
      ]);
      expect(pruned).toEqual({ changed: 2 });
      const left = await own.listTasks({ status: ["completed", "failed"] });
      expect(left.tasks.map((task) => task.id).sort((a, b) => a - b)).toEqual(
        mine.completed.filter((id) => id !== first),
      );
      // A queued task and a missing id are left alone, counted, exit 4.
      const partial = await sitq(runtime, [
        "prune",
        ownPath,
        String(second),
        String(mine.queued),
        "999999",
      ]);
      expect(partial.code).toBe(4);
      expect(partial.stdout).toBe("deleted 1 task\n");
      expect(partial.stderr).toContain(
        "2 of the tasks given not deleted: missing, or not finished",
      );
      expect((await own.getResult(mine.queued)).status).toBe("queued");
      expect((await own.stats()).completed).toBe(1);
      // Ids and a filter together: a usage error.
      expect(
        (await sitq(runtime, ["prune", ownPath, String(mine.queued), "--all"]))
          .code,
      ).toBe(2);
    },
    60_000,
  );

  test("workers lists none while no worker runs", async () => {
    const report = await sitqJson<
      { workers: unknown[]; unhandled: { name: string }[] }
    >(
      runtime,
      ["workers", path],
    );
    expect(report.workers).toEqual([]);
    expect(report.unhandled.map((u) => u.name)).toContain("idle");
  }, 30_000);

  test(
    "dashboard serves the dashboard and its metrics until SIGTERM",
    async () => {
      const cli = new LiveCli(runtime, [
        "dashboard",
        path,
        "--port",
        "0",
        "--token",
        "s3cret",
      ]);
      live.push(cli);
      const [, url] = await cli.waitForStdout(
        /sitq dashboard on (http:\/\/127\.0\.0\.1:\d+\/)\n/,
      );
      const denied = await fetch(url!);
      expect(denied.status).toBe(401);
      await denied.body?.cancel();
      const auth = { authorization: "Bearer s3cret" };
      const page = await fetch(url!, { headers: auth });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      await page.body?.cancel();
      const metrics = await fetch(new URL("metrics", url), { headers: auth });
      expect(metrics.status).toBe(200);
      const families = parseExposition(await metrics.text());
      expect(
        sampleValue(families, "sitq_tasks", {
          queue: "default",
          status: "failed",
        }),
      ).toBeNumber();
      expect(await cli.stop("SIGTERM")).toBe(0);
    },
    60_000,
  );

  test("migrate creates a database; --version and --help", async () => {
    const fresh = join(tempDir(), "fresh.db");
    const migrated = await sitq(runtime, ["migrate", fresh]);
    expect(migrated.code).toBe(0);
    expect(existsSync(fresh)).toBe(true);
    const stats = await sitqJson<StatsJson>(runtime, ["stats", fresh]);
    expect(stats.statuses.queued).toBe(0);
    const version = await sitq(runtime, ["--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await sitq(runtime, ["--help"]);
    expect(help.code).toBe(0);
    for (
      const command of [
        "stats",
        "list",
        "show",
        "retry",
        "cancel",
        "prune",
        "pause",
        "resume",
        "schedules",
        "migrate",
        "workers",
        "worker",
        "dashboard",
        "completion",
      ]
    ) {
      expect(help.stdout).toContain(`sitq ${command}`);
    }
  }, 60_000);
});

test(
  "completion prints a bash/zsh script that completes commands",
  async () => {
    const runtime = CLI_ROWS[0]![1];
    const script = await sitq(runtime, ["completion"]);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain(
      "complete -o bashdefault -o default -F _sitq_yargs_completions sitq",
    );
    const words = await sitq(runtime, [
      "--get-yargs-completions",
      "sitq",
      "sch",
    ]);
    expect(words.stdout.split("\n")).toContain("schedules");
  },
  30_000,
);

test("a progress bar on a terminal (bulk retry), none when piped", async () => {
  const runtime = CLI_ROWS[0]![1];
  const path = tempDbPath();
  const queue = newQueue({}, path);
  const task = queue.task("p", () => null);
  const ids = await queue.enqueueMany(
    task,
    Array.from({ length: 5 }, () => []),
  );
  for (const id of ids) await queue.cancel(id);
  // util-linux `script` runs the command on a pseudo-terminal.
  const command = [...runtime.command(["retry", path, ...ids.map(String)])]
    .map((word) => `'${word}'`).join(" ");
  const tty = await run(["script", "-qec", command, "/dev/null"], {
    env: { SITQ_DATABASE: "" },
  });
  expect(tty.code).toBe(0);
  expect(tty.stdout).toContain("\rretry [");
  expect(tty.stdout).toContain("] 5/5");
  expect(tty.stdout).toContain("requeued 5 tasks");
  for (const id of ids) await queue.cancel(id);
  const piped = await sitq(runtime, ["retry", path, ...ids.map(String)]);
  expect(piped.code).toBe(0);
  expect(piped.stdout).toBe("requeued 5 tasks\n");
  expect(piped.stderr).toBe("");
}, 30_000);
