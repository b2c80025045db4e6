/**
 * `sitq worker <module>` as a real process tree on each runtime: two
 * worker processes drain the queue (both register as live workers), a
 * child killed with SIGKILL is started again, and SIGTERM to the
 * supervisor stops every child gracefully and exits 0. A module that
 * breaks the contract is refused with a usage error.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  cleanup,
  newQueue,
  numberedArgs,
  ROOT,
  tempDbPath,
  waitUntil,
} from "./helpers.ts";
import { alive, buildForCli, CLI_ROWS, LiveCli, sitq } from "./support/cli.ts";

beforeAll(() => buildForCli(), 120_000);
const live: LiveCli[] = [];
afterAll(async () => {
  for (const cli of live) cli.close();
  await cleanup();
});

const MODULE = join(ROOT, "tests/fixtures/cli_tasks.mjs");
const STARTED = /worker process (\d) started \(pid (\d+)\)/;

describe.each(CLI_ROWS)("sitq worker on %s", (_label, runtime) => {
  test(
    "two processes drain the queue, a killed one restarts, SIGTERM stops all",
    async () => {
      const path = tempDbPath();
      const queue = newQueue({}, path);
      const double = queue.task("double", (n: number) => ({ value: n * 2 }));
      const ids = await queue.enqueueMany(double, numberedArgs(40));
      const cli = new LiveCli(runtime, [
        "worker",
        MODULE,
        "--db",
        path,
        "--processes",
        "2",
        "--concurrency",
        "2",
        "--shutdown-timeout",
        "5000",
      ]);
      live.push(cli);
      const started = await cli.waitForStderr(STARTED, 2);
      const pids = started.map((m) => Number(m[2]));
      // Both children are live workers in the registry, and they drain it.
      await waitUntil(
        async () => (await queue.workers()).length === 2,
        "two live workers",
      );
      expect((await queue.workers()).map((w) => w.pid).sort()).toEqual(
        [...pids].sort(),
      );
      await waitUntil(
        async () => (await queue.stats()).completed === ids.length,
        "all 40 completed",
      );
      const result = await queue.getResult(ids[7]!);
      expect(result).toMatchObject({
        status: "completed",
        value: { value: 14 },
      });

      // A child killed outright is started again (a new pid for its slot).
      process.kill(pids[0]!, "SIGKILL");
      await cli.waitForStderr(
        /worker process 0 \(pid \d+\) exited with signal SIGKILL; restarting/,
      );
      const restarted = await cli.waitForStderr(STARTED, 3);
      const newPid = Number(restarted[2]![2]);
      expect(newPid).not.toBe(pids[0]);
      const more = await queue.enqueueMany(double, numberedArgs(10));
      await waitUntil(
        async () =>
          (await queue.stats()).completed === ids.length + more.length,
        "the 10 more completed",
      );
      // The restarted child registers (the killed one's row stays until
      // it goes stale: SIGKILL left no chance to remove it).
      await waitUntil(
        async () => (await queue.workers()).some((w) => w.pid === newPid),
        "the restarted child registered",
      );

      // SIGTERM: every child stops gracefully, the supervisor exits 0.
      expect(await cli.stop("SIGTERM")).toBe(0);
      expect(cli.stderr).toContain("SIGTERM: stopping 2 worker processes");
      for (const pid of [pids[1]!, newPid]) expect(alive(pid)).toBe(false);
      // Stopped workers remove their rows: a graceful stop, not a crash.
      // Only the SIGKILLed child's row is left.
      expect((await queue.workers()).map((w) => w.pid)).toEqual([pids[0]!]);
    },
    120_000,
  );

  test(
    "Ctrl-C on a terminal (SIGINT to the process group) lets running tasks finish",
    async () => {
      const path = tempDbPath();
      const queue = newQueue({}, path);
      const slow = queue.task("slow", (ms: number) => ms);
      const id = await queue.enqueue(slow, 3000);
      // setsid: the command leads a process group of its own, as a shell's
      // foreground job does; a terminal's Ctrl-C signals that whole group.
      const cli = new LiveCli(runtime, [
        "worker",
        MODULE,
        "--db",
        path,
        "--processes",
        "2",
      ], ["setsid"]);
      live.push(cli);
      await cli.waitForStderr(STARTED, 2);
      await waitUntil(
        async () => (await queue.getResult(id)).status === "running",
        "the slow task running",
      );
      process.kill(-cli.process.pid, "SIGINT");
      expect(await cli.process.exited).toBe(0);
      // Stopped gracefully once (not "again: at once"): the task completed.
      const result = await queue.getResult(id);
      expect(result.status).toBe("completed");
      expect((await queue.getTask(id)).history.map((a) => a.outcome)).toEqual([
        "completed",
      ]);
    },
    60_000,
  );

  test(
    "children stop by themselves when the supervisor is killed",
    async () => {
      const path = tempDbPath();
      const queue = newQueue({}, path);
      queue.task("double", (n: number) => n * 2);
      const cli = new LiveCli(runtime, [
        "worker",
        MODULE,
        "--db",
        path,
        "--processes",
        "2",
      ]);
      live.push(cli);
      const pids = (await cli.waitForStderr(STARTED, 2)).map((m) =>
        Number(m[2])
      );
      await waitUntil(
        async () => (await queue.workers()).length === 2,
        "two live workers",
      );
      expect(await cli.stop("SIGKILL")).not.toBe(0);
      await waitUntil(
        () => pids.every((pid) => !alive(pid)),
        "the orphans exited",
      );
      // They stopped gracefully: their registry rows are gone.
      expect(await queue.workers()).toEqual([]);
    },
    60_000,
  );

  test(
    "a module without a default function is a usage error, supervised or not",
    async () => {
      const path = tempDbPath();
      newQueue({}, path);
      const result = await sitq(runtime, [
        "worker",
        join(ROOT, "tests/fixtures/cli_bad_module.mjs"),
        "--db",
        path,
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("must export a function as default");
      expect(result.stderr).toContain("[MODULE_CONTRACT]");
      // Supervised: the children exit 2, which no restart cures; all stop.
      const supervised = await sitq(runtime, [
        "worker",
        join(ROOT, "tests/fixtures/cli_bad_module.mjs"),
        "--db",
        path,
        "--processes",
        "2",
      ]);
      expect(supervised.code).toBe(2);
      expect(supervised.stderr).toContain("which a restart cannot cure");
      expect(supervised.stderr).not.toContain("restarting in");
      const missing = await sitq(runtime, [
        "worker",
        join(ROOT, "tests/fixtures/absent.mjs"),
        "--db",
        path,
        "--processes",
        "2",
      ]);
      expect(missing.code).toBe(3);
    },
    30_000,
  );
});
