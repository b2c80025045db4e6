/**
 * Workers in separate processes on one PostgreSQL schema: one task and three
 * racing worker processes, a backlog shared by three, a worker killed with
 * SIGKILL mid-task (another completes it once the lease expires), one killed
 * in the middle of a contended backlog (nothing lost, nothing completed
 * twice), and cross-process wake-ups by LISTEN/NOTIFY alone (every poll an
 * hour long). The races and the kill run with worker processes on every
 * runtime (Bun, Deno, Node 20, 22 and 24); children are real processes
 * (tests/fixtures/worker_process.mjs), handlers log each run to a file, and
 * the tests wait on files, output and database states, never on amounts of
 * time. Each test has a fresh schema on the tests' server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TaskContext, type TaskId, TaskQueue } from "../mod.ts";
import { PostgresBackend } from "../postgres.ts";
import {
  cleanup,
  closeLater,
  HOUR,
  numberedArgs,
  waitUntil,
} from "./helpers.ts";
import {
  buildDist,
  RUNTIME_ROWS,
  type RuntimeTarget,
} from "./runtimes/matrix.ts";
import { describePostgres, postgresQueue } from "./support/postgres_tests.ts";
import {
  type Child,
  logLines,
  processFiles,
  spawnReadyWorkers,
  spawnWorker,
  track,
  waitForOutput,
  type WorkerProcessConfig,
} from "./worker_helpers.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanup);

/** Sends SIGTERM to each child and expects each to stop and exit 0. */
async function stopAll(children: Child[]): Promise<void> {
  for (const child of children) child.proc.kill("SIGTERM");
  const codes = await Promise.all(children.map((child) => child.exited));
  for (const [index, code] of codes.entries()) {
    if (code !== 0) {
      throw new Error(
        `worker process ${index} exited with ${code}\nstdout: ${
          children[index]!.stdout
        }\nstderr: ${children[index]!.stderr}`,
      );
    }
  }
}

/** Task ids of a run log's lines (`<workerId> <taskId> <arg>`). */
function runIds(log: string): number[] {
  return logLines(log).map((line) => Number(line.split(" ")[1]));
}

/** How often each id occurs in `ids`. */
function tally(ids: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Tasks per status, through the queue's public stats. */
async function completedCount(queue: TaskQueue): Promise<number> {
  return (await queue.stats()).completed;
}

await describePostgres("PostgreSQL worker processes", (url) => {
  /**
   * A queue on a fresh schema with task "job" (it returns its argument),
   * and `count` idle worker processes p0, p1, ... on that schema, all ready.
   */
  async function queueAndWorkers(
    runtime: RuntimeTarget | undefined,
    config: Partial<WorkerProcessConfig> = {},
    count = 3,
  ) {
    const files = processFiles();
    const { queue, schema, backend } = postgresQueue(url);
    const job = queue.task("job", (n: number) => n);
    await backend.open();
    const children = await spawnReadyWorkers(
      Array.from({ length: count }, (_, i) => ({
        db: "",
        postgres: { url, schema },
        log: files.log,
        behaviour: "return" as const,
        workerId: `p${i}`,
        pollInterval: 20,
        ...config,
      })),
      runtime,
    );
    return { ...files, queue, job, schema, children };
  }

  describe.each(RUNTIME_ROWS)("worker processes on %s", (_, runtime) => {
    test(
      "one task and three racing worker processes: it runs exactly once",
      async () => {
        const { log, queue, job, children } = await queueAndWorkers(runtime);
        const id = await queue.enqueue(job, 42);
        expect(await queue.waitForResult(id, { timeout: 20_000 })).toEqual({
          status: "completed",
          value: 42,
          attempts: 1,
        });
        await stopAll(children);
        const lines = logLines(log);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^p[012] ${id} 42$`));
        expect((await queue.getTask(id)).history).toHaveLength(1);
      },
      60_000,
    );

    test(
      "300 tasks over three worker processes at concurrency 4: each runs exactly once, none is lost",
      async () => {
        const { log, queue, job, children } = await queueAndWorkers(runtime, {
          concurrency: 4,
        });
        const ids = await queue.enqueueMany(job, numberedArgs(300));
        await waitUntil(
          async () => (await completedCount(queue)) === 300,
          "all 300 tasks to complete",
          { timeout: 45_000, interval: 50 },
        );
        await stopAll(children);
        const ran = runIds(log);
        expect(ran).toHaveLength(300);
        expect([...ran].sort((a, b) => a - b)).toEqual(
          [...ids].sort((a, b) => a - b),
        );
        expect(await queue.stats()).toMatchObject({
          queued: 0,
          running: 0,
          completed: 300,
          failed: 0,
        });
        // Each task's record names the worker whose log line ran it.
        const ranBy = new Map(
          logLines(log).map((line) => [
            Number(line.split(" ")[1]),
            line.split(" ")[0],
          ]),
        );
        for (const id of ids.slice(0, 20)) {
          expect((await queue.getTask(id)).workerId).toBe(ranBy.get(id)!);
        }
      },
      60_000,
    );

    test(
      "a worker process killed with SIGKILL mid-task: another worker completes it after the lease expires, with a lost attempt 1",
      async () => {
        const files = processFiles();
        const { queue, schema } = postgresQueue(url);
        const job = queue.task(
          "job",
          function (this: TaskContext, n: number) {
            return `attempt ${this.attempt} of ${n} by ${this.workerId}`;
          },
        );
        const id = await queue.enqueue(job, 9);
        const doomed = spawnWorker({
          db: "",
          postgres: { url, schema },
          log: files.log,
          behaviour: "hang",
          workerId: "doomed",
          leaseDuration: 500,
        }, runtime);
        await waitUntil(
          () => logLines(files.log).length === 1,
          "the doomed worker to start the task",
        );
        expect(await queue.getResult(id)).toMatchObject({
          status: "running",
          workerId: "doomed",
        });
        doomed.proc.kill("SIGKILL");
        await doomed.exited;
        expect(doomed.proc.signalCode).toBe("SIGKILL");

        const rescuer = track(queue.worker({
          workerId: "rescuer",
          pollInterval: 50,
          leaseDuration: 500,
        }));
        await rescuer.start();
        expect(await queue.waitForResult(id, { timeout: 20_000 })).toEqual({
          status: "completed",
          value: "attempt 2 of 9 by rescuer",
          attempts: 2,
        });
        await rescuer.stop();
        const record = await queue.getTask(id);
        expect(record.history.map((h) => [h.attempt, h.outcome, h.workerId]))
          .toEqual([[1, "lost", "doomed"], [2, "completed", "rescuer"]]);
        expect(record.history[0]!.error?.name).toBe("LeaseExpiredError");
        expect(logLines(files.log)).toEqual([`doomed ${id} 9`]);
      },
      30_000,
    );
  });

  test(
    "a worker process killed with SIGKILL in a contended backlog: every task completes once; only the killed worker's tasks ran twice, each with a lost attempt",
    async () => {
      const { log, queue, job, children } = await queueAndWorkers(undefined, {
        concurrency: 4,
        leaseDuration: 2_000,
        heartbeatInterval: 200,
        pollInterval: 20,
      }, 4);
      const ids = await queue.enqueueMany(job, numberedArgs(400));
      const victim = children[0]!;
      await waitUntil(
        () => logLines(log).some((line) => line.startsWith("p0 ")),
        "the first victim's run",
      );
      victim.proc.kill("SIGKILL");
      await victim.exited;
      await waitUntil(
        async () => (await completedCount(queue)) === 400,
        "all 400 tasks to complete",
        { timeout: 60_000, interval: 50 },
      );
      await stopAll(children.slice(1));
      const runs = tally(runIds(log));
      expect([...runs.keys()].sort((a, b) => a - b)).toEqual(
        [...ids].sort((a, b) => a - b),
      );
      let ranAgain = 0;
      for (const id of ids) {
        const { history, status, attempts } = await queue.getTask(id);
        expect(status).toBe("completed");
        const outcomes = history.map((h) => h.outcome);
        expect(outcomes.filter((o) => o === "completed")).toHaveLength(1);
        if (attempts === 1) {
          expect(runs.get(id)).toBe(1);
        } else {
          // Another attempt only for a task the killed worker held (it may
          // have died before its handler logged the run).
          ranAgain++;
          expect(attempts).toBe(2);
          expect(outcomes).toEqual(["lost", "completed"]);
          expect(history[0]!.workerId).toBe("p0");
          expect(runs.get(id)).toBeLessThanOrEqual(2);
        }
      }
      console.log(
        `kill -9 in a contended backlog: 400 tasks, 0 lost, ${ranAgain} run again after the kill (lost attempts of p0)`,
      );
    },
    90_000,
  );

  test(
    "LISTEN/NOTIFY alone wakes a worker process (every poll an hour long) for each of five tasks, and this process hears each completion",
    async () => {
      const { log, queue, job, schema } = await queueAndWorkers(
        undefined,
        {},
        0,
      );
      const [worker] = await spawnReadyWorkers([{
        db: "",
        postgres: { url, schema, changePollInterval: HOUR },
        log,
        behaviour: "return",
        workerId: "listener",
        pollInterval: HOUR,
      }]);
      // This side hears completions by notification too: its change poll is
      // an hour long, and a waiter re-reads only when told of a change.
      const watcher = closeLater(
        new TaskQueue(
          new PostgresBackend(url, { schema, changePollInterval: HOUR }),
        ),
      );
      const heard = new Set<TaskId>();
      let watching: TaskId | undefined;
      const unsubscribe = watcher.backend.subscribe((change) => {
        const id = watching;
        if (change.type !== "external" || id === undefined) return;
        void watcher.getResult(id).then((result) => {
          if (result.status === "completed") heard.add(id);
        });
      });
      try {
        // The worker's first claim (at start) found nothing: it sleeps.
        for (let n = 1; n <= 5; n++) {
          const id = await queue.enqueue(job, n);
          watching = id;
          await waitUntil(
            () => runIds(log).includes(id),
            `the worker process to run task ${id} (woken by NOTIFY)`,
            { timeout: 15_000 },
          );
          await waitUntil(
            () => heard.has(id),
            `a notification here once task ${id} completed`,
            { timeout: 15_000 },
          );
        }
      } finally {
        unsubscribe();
        await stopAll([worker!]);
      }
      expect(heard.size).toBe(5);
      expect(worker!.stdout).not.toContain("PUSH_UNAVAILABLE");
      await waitForOutput(worker!, "stopped");
    },
    60_000,
  );
});
