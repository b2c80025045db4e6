/**
 * The server restarts under running workers: a private PostgreSQL server
 * (tests/support/postgres_server.ts) is stopped and started again while a
 * worker in this process, and then one in a child process, drains a
 * backlog. No task may be lost or completed twice, the worker must still be
 * running afterwards and finish everything. Each handler run is a line in a
 * file (the side effect), so runs are counted outside the database.
 *
 * The figures (tasks lost, tasks run twice, time from the server's start
 * (its postmaster's start time) to the worker's first claim) are printed for the closing note; they
 * are not asserted, timing belongs in bench/.
 */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { type TaskContext, TaskQueue, type Worker } from "../mod.ts";
import { PostgresBackend } from "../postgres.ts";
import {
  cleanup,
  closeLater,
  numberedArgs,
  tempDir,
  waitUntil,
} from "./helpers.ts";
import { ident, withRawPostgres } from "./conformance/raw_postgres.ts";
import { freshSchema } from "./support/postgres_server.ts";
import { describePrivatePostgres } from "./support/postgres_tests.ts";
import {
  logLines,
  spawnReadyWorkers,
  track,
  waitForOutput,
} from "./worker_helpers.ts";

afterAll(cleanup);

/** Runs per task id in a side-effect file of `<workerId> <taskId> ...` lines. */
function runsPerTask(file: string): Map<number, number> {
  const runs = new Map<number, number>();
  for (const line of logLines(file)) {
    const id = Number(line.split(" ")[1]);
    runs.set(id, (runs.get(id) ?? 0) + 1);
  }
  return runs;
}

/** The figures of one restart test, printed for the closing note. */
interface Figures {
  tasks: number;
  lost: number;
  completedTwice: number;
  ranTwice: number;
  resumeMs: number[];
}

function report(what: string, figures: Figures): void {
  console.log(
    `restart figures (${what}): ${figures.tasks} tasks, ${figures.lost} lost, ${figures.completedTwice} completed twice, ${figures.ranTwice} run more than once; first claim ${
      figures.resumeMs.map((ms) => `${ms} ms`).join(", ")
    } after the server started again`,
  );
}

/** When the server at `url` started (its postmaster), in epoch ms. */
function serverStartedAt(url: string): Promise<number> {
  return withRawPostgres(url, async (client) => {
    const { rows } = await client.query(
      "select extract(epoch from pg_postmaster_start_time())::float8 * 1000 as t",
    );
    return Math.floor(Number(rows[0]!.t));
  });
}

/**
 * For each time in `upAt` (epoch ms, the server started again), how long until
 * the first claim after it: the earliest attempt start at or after it, in
 * the schema's task rows and attempt history (the worker's clock, this
 * machine's).
 */
async function firstClaimsAfter(
  url: string,
  schema: string,
  upAt: number[],
): Promise<number[]> {
  return await withRawPostgres(url, async (client) => {
    const delays: number[] = [];
    for (const since of upAt) {
      const { rows } = await client.query(
        `select min(started_at)::float8 as first from (
           select started_at from ${ident(schema)}.sitq_tasks
           union all select started_at from ${ident(schema)}.sitq_attempts
         ) s where started_at >= $1`,
        [since],
      );
      delays.push(Number(rows[0]!.first) - since);
    }
    return delays;
  });
}

/**
 * Checks every task of `queue` completed once, with one completed attempt in
 * its history, and each run in `runs` backed by an attempt; the figures.
 */
async function checkOutcome(
  queue: TaskQueue,
  ids: number[],
  runs: Map<number, number>,
): Promise<Pick<Figures, "lost" | "completedTwice" | "ranTwice">> {
  let lost = 0;
  let completedTwice = 0;
  let ranTwice = 0;
  for (const id of ids) {
    const record = await queue.getTask(id);
    const completions = record.history.filter((h) => h.outcome === "completed");
    if (record.status !== "completed") lost++;
    if (completions.length > 1) completedTwice++;
    if ((runs.get(id) ?? 0) > 1) ranTwice++;
    // Every run is an attempt; an attempt may have been lost before its run.
    expect(runs.get(id) ?? 0).toBeLessThanOrEqual(record.attempts);
  }
  expect(await queue.stats()).toMatchObject({
    queued: 0,
    running: 0,
    completed: ids.length,
    failed: 0,
  });
  expect({ lost, completedTwice }).toEqual({ lost: 0, completedTwice: 0 });
  return { lost, completedTwice, ranTwice };
}

describePrivatePostgres("PostgreSQL server restarts", (server) => {
  for (const mode of ["fast", "immediate"] as const) {
    test(
      `a worker in this process keeps running through two ${mode} server restarts and completes each of 500 tasks once`,
      async () => {
        const effects = join(tempDir(), "runs.log");
        const schema = freshSchema();
        const backend = new PostgresBackend(server().url, { schema });
        const queue = closeLater(new TaskQueue(backend));
        const job = queue.task(
          "job",
          async function (this: TaskContext, n: number) {
            appendFileSync(effects, `${this.workerId} ${this.id} ${n}\n`);
            // A little work, so that tasks are in flight at each stop.
            await new Promise((resolve) => setTimeout(resolve, 2));
            return n;
          },
        );
        const ids = await queue.enqueueMany(job, numberedArgs(500));
        const errors: string[] = [];
        const worker: Worker = track(queue.worker({
          concurrency: 4,
          pollInterval: 50,
          leaseDuration: 3_000,
          heartbeatInterval: 500,
        }));
        worker.on("error", ({ error }) => errors.push(error.message));
        await worker.start();
        const upAt: number[] = [];
        const downSteps: number[] = [];
        for (const after of [100, 250]) {
          await waitUntil(
            () => logLines(effects).length >= after,
            `${after} tasks to start`,
            { timeout: 30_000 },
          );
          const errorsBefore = errors.length;
          await server().stopServer(mode);
          // Down until the worker has felt it several times, so that it is
          // in its back-off when the server comes back.
          await waitUntil(
            () => errors.length >= errorsBefore + 4,
            "the worker to report four failed steps while the server is down",
            { timeout: 30_000 },
          );
          downSteps.push(errors.length - errorsBefore);
          await server().startServer();
          upAt.push(await serverStartedAt(server().url));
          expect(worker.running).toBe(true);
        }
        await waitUntil(
          async () =>
            (await queue.stats().catch(() => undefined))?.completed === 500,
          "all 500 tasks to complete",
          { timeout: 60_000, interval: 50 },
        );
        expect(worker.running).toBe(true);
        const runs = runsPerTask(effects);
        const figures = await checkOutcome(queue, ids, runs);
        await worker.stop();
        report(
          `in-process worker, ${mode} stops (failed steps while down: ${
            downSteps.join(", ")
          })`,
          {
            tasks: ids.length,
            ...figures,
            resumeMs: await firstClaimsAfter(server().url, schema, upAt),
          },
        );
      },
      180_000,
    );
  }

  test(
    "a worker process keeps running through a server restart and completes each of 300 tasks once",
    async () => {
      const dir = tempDir();
      const log = join(dir, "runs.log");
      const schema = freshSchema();
      const backend = new PostgresBackend(server().url, { schema });
      const queue = closeLater(new TaskQueue(backend));
      const job = queue.task("job", (n: number) => n);
      await backend.open();
      const [child] = await spawnReadyWorkers([{
        db: "",
        postgres: { url: server().url, schema },
        log,
        behaviour: "return",
        workerId: "survivor",
        concurrency: 4,
        pollInterval: 50,
        leaseDuration: 3_000,
        heartbeatInterval: 500,
      }]);
      const ids = await queue.enqueueMany(job, numberedArgs(300));
      await waitUntil(
        () => logLines(log).length >= 100,
        "100 tasks to start",
        { timeout: 30_000 },
      );
      await server().stopServer();
      await waitForOutput(child!, "error ", 30_000);
      await server().startServer();
      const upAt = [await serverStartedAt(server().url)];
      await waitUntil(
        async () =>
          (await queue.stats().catch(() => undefined))?.completed === 300,
        "all 300 tasks to complete",
        { timeout: 60_000, interval: 50 },
      );
      // Still its own process, still running: it stops when told to.
      expect(child!.proc.exitCode).toBe(null);
      child!.proc.kill("SIGTERM");
      expect(await child!.exited).toBe(0);
      expect(child!.stdout).toContain("stopped");
      const runs = runsPerTask(log);
      const figures = await checkOutcome(queue, ids, runs);
      report("worker process, fast stop", {
        tasks: ids.length,
        ...figures,
        resumeMs: await firstClaimsAfter(server().url, schema, upAt),
      });
    },
    120_000,
  );
});
