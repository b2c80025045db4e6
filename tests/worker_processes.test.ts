/**
 * Workers in separate processes on one SQLite file: atomic claims under a
 * race, a backlog shared by three processes, crash recovery after SIGKILL,
 * leases renewed by a live worker, and enqueue/run/read split over three
 * processes. Children are real Bun processes (tests/fixtures/); handlers log
 * each run with appendFileSync, and the tests wait on files, output and
 * database states, never on amounts of time.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { LeaseLostError, type TaskContext, type TaskId } from "../mod.ts";
import { deferred, ManualClock, tempDir, waitUntil } from "./helpers.ts";
import {
  type Child,
  cleanup,
  logLines,
  newQueue,
  spawnFixture,
  spawnWorker,
  statusCounts,
  track,
  waitForOutput,
} from "./worker_helpers.ts";

afterAll(cleanup);

const HOUR = 3_600_000;

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

describe("Claims across processes", () => {
  test(
    "One task and three racing worker processes: it runs exactly once",
    async () => {
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const log = join(dir, "runs.log");
      const queue = newQueue({}, db);
      const job = queue.task("job", (n: number) => n);
      await queue.backend.open();
      const children = [0, 1, 2].map((i) =>
        spawnWorker({
          db,
          log,
          behaviour: "return",
          workerId: `p${i}`,
          pollInterval: 20,
        })
      );
      await Promise.all(children.map((child) => waitForOutput(child, "ready")));
      // All three are idle and polling; the task appears to all at once.
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
    "300 tasks over three worker processes: every task completes, each run exactly once",
    async () => {
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const log = join(dir, "runs.log");
      const queue = newQueue({}, db);
      const job = queue.task("job", (n: number) => n);
      await queue.backend.open();
      const children = [0, 1, 2].map((i) =>
        spawnWorker({
          db,
          log,
          behaviour: "return",
          workerId: `p${i}`,
          concurrency: 4,
          pollInterval: 20,
        })
      );
      await Promise.all(children.map((child) => waitForOutput(child, "ready")));
      const ids = await queue.enqueueMany(
        job,
        Array.from({ length: 300 }, (_, n) => [n] as [number]),
      );
      await waitUntil(
        () => (statusCounts(db).completed ?? 0) === 300,
        "all 300 tasks to complete",
        { timeout: 45_000, interval: 50 },
      );
      await stopAll(children);
      const lines = logLines(log);
      const runIds = lines.map((line) => Number(line.split(" ")[1]));
      expect(lines).toHaveLength(300);
      expect(new Set(runIds).size).toBe(300);
      expect([...runIds].sort((a, b) => a - b)).toEqual(
        [...ids].sort((a, b) => a - b),
      );
      expect(statusCounts(db)).toEqual({ completed: 300 });
      // Each task's record names the worker whose log line ran it.
      const ranBy = new Map(
        lines.map((line) => [Number(line.split(" ")[1]), line.split(" ")[0]]),
      );
      for (const id of ids.slice(0, 20)) {
        expect((await queue.getTask(id)).workerId).toBe(ranBy.get(id)!);
      }
    },
    60_000,
  );

  test(
    "A task enqueued in process A is run in process B and read in process C",
    async () => {
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const log = join(dir, "runs.log");
      const enqueue = spawnFixture("worker_enqueue.ts", [db, "1"]);
      expect(await enqueue.exited).toBe(0);
      const [id] = JSON.parse(enqueue.stdout) as number[];
      expect(typeof id).toBe("number");

      const reader = spawnFixture("worker_wait_result.ts", [db, String(id)]);
      await waitForOutput(reader, "waiting");
      const worker = spawnWorker({
        db,
        log,
        behaviour: "return",
        workerId: "process-b",
      });
      expect(await reader.exited).toBe(0);
      const result = JSON.parse(
        reader.stdout.split("\n").find((line) => line.startsWith("{"))!,
      );
      expect(result).toEqual({ status: "completed", value: 0, attempts: 1 });
      await waitForOutput(worker, "ready");
      await stopAll([worker]);
      expect(logLines(log)).toEqual([`process-b ${id} 0`]);
    },
    60_000,
  );

  // With an hour-long safety poll as well, only the watch on the database's
  // write-ahead log can wake the worker: this case fails if the watch breaks.
  for (
    const [label, changePollInterval] of [
      ["the default change poll", undefined],
      ["an hour-long change poll (so only the file watch wakes it)", 3_600_000],
    ] as const
  ) {
    test(
      `An in-process worker with a one-hour pollInterval and ${label} runs a task enqueued by another process`,
      async () => {
        const dir = tempDir();
        const db = join(dir, "tasks.db");
        const queue = newQueue({ backend: { changePollInterval } }, db);
        queue.task("job", (n: number) => n + 1000);
        const worker = track(queue.worker({ pollInterval: 3_600_000 }));
        await worker.start();
        await worker.onIdle();
        const enqueue = spawnFixture("worker_enqueue.ts", [db, "1"]);
        expect(await enqueue.exited).toBe(0);
        const [id] = JSON.parse(enqueue.stdout) as TaskId[];
        expect(await queue.waitForResult(id!, { timeout: 20_000 })).toEqual({
          status: "completed",
          value: 1000,
          attempts: 1,
        });
        await worker.stop();
      },
      30_000,
    );
  }
});

describe("Leases across processes", () => {
  test(
    "A worker process killed with SIGKILL mid-task: another worker completes it after the lease expires, with a lost attempt 1",
    async () => {
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const log = join(dir, "runs.log");
      const queue = newQueue({}, db);
      const job = queue.task("job", function (this: TaskContext, n: number) {
        return `attempt ${this.attempt} of ${n} by ${this.workerId}`;
      });
      const id = await queue.enqueue(job, 9);
      const doomed = spawnWorker({
        db,
        log,
        behaviour: "hang",
        workerId: "doomed",
        leaseDuration: 500,
      });
      await waitUntil(
        () => logLines(log).length === 1,
        "the doomed worker to start the task",
      );
      expect(await queue.getResult(id)).toMatchObject({
        status: "running",
        workerId: "doomed",
      });
      doomed.proc.kill("SIGKILL");
      await doomed.exited;
      expect(doomed.proc.signalCode).toBe("SIGKILL");

      const rescuer = track(
        queue.worker({
          workerId: "rescuer",
          leaseDuration: 500,
          pollInterval: 50,
        }),
      );
      await rescuer.start();
      expect(await queue.waitForResult(id, { timeout: 20_000 })).toEqual({
        status: "completed",
        value: "attempt 2 of 9 by rescuer",
        attempts: 2,
      });
      await rescuer.stop();
      const record = await queue.getTask(id);
      expect(record.attempts).toBe(2);
      expect(record.history.map((h) => [h.attempt, h.outcome, h.workerId]))
        .toEqual([
          [1, "lost", "doomed"],
          [2, "completed", "rescuer"],
        ]);
      expect(record.history[0]!.error?.name).toBe("LeaseExpiredError");
      expect(logLines(log)).toEqual([`doomed ${id} 9`]);
    },
    30_000,
  );

  test(
    "A killed worker's task on its last attempt is failed by the recovery, not run again",
    async () => {
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const log = join(dir, "runs.log");
      const queue = newQueue({}, db);
      let runs = 0;
      const job = queue.task("job", () => {
        runs++;
      });
      const id = await queue.enqueue(job.with({ maxAttempts: 1 }));
      const doomed = spawnWorker({
        db,
        log,
        behaviour: "hang",
        workerId: "doomed",
        leaseDuration: 300,
      });
      await waitUntil(
        () => logLines(log).length === 1,
        "the doomed worker to start the task",
      );
      doomed.proc.kill("SIGKILL");
      await doomed.exited;
      const rescuer = track(
        queue.worker({ workerId: "rescuer", pollInterval: 50 }),
      );
      await rescuer.start();
      expect(await queue.waitForResult(id, { timeout: 20_000 })).toMatchObject({
        status: "failed",
        attempts: 1,
        error: { name: "LeaseExpiredError" },
      });
      await rescuer.stop();
      expect(runs).toBe(0);
      expect((await queue.getTask(id)).history.map((h) => h.outcome)).toEqual([
        "lost",
      ]);
    },
    30_000,
  );

  test(
    "A task that outlives its lease many times over runs once while its worker renews the lease",
    async () => {
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const log = join(dir, "runs.log");
      const leaseDuration = 400;
      const queue = newQueue({}, db);
      const started = deferred<number>();
      const release = deferred();
      const job = queue.task("job", async () => {
        started.resolve(Date.now());
        await release.promise;
        return "ran once";
      });
      const id = await queue.enqueue(job);
      const owner = track(queue.worker({
        workerId: "owner",
        leaseDuration,
        heartbeatInterval: 100,
        pollInterval: 50,
      }));
      await owner.start();
      const start = await started.promise;
      // A second worker, in another process, polls the same file and would
      // take the task the moment its lease lapsed.
      const rival = spawnWorker({
        db,
        log,
        behaviour: "return",
        workerId: "rival",
        leaseDuration,
        pollInterval: 20,
      });
      await waitForOutput(rival, "ready");
      try {
        await waitUntil(
          () => Date.now() > start + 4 * leaseDuration,
          "the task to outlive four leases",
        );
        const record = await queue.getTask(id);
        expect(record.status).toBe("running");
        expect(record.workerId).toBe("owner");
        expect(record.attempts).toBe(1);
        expect(record.leaseExpiresAt!.getTime()).toBeGreaterThan(
          start + leaseDuration,
        );
      } finally {
        release.resolve();
      }
      expect(await queue.waitForResult(id, { timeout: 10_000 })).toEqual({
        status: "completed",
        value: "ran once",
        attempts: 1,
      });
      await owner.stop();
      await stopAll([rival]);
      expect(logLines(log)).toEqual([]);
      expect(
        (await queue.getTask(id)).history.map((
          h,
        ) => [h.attempt, h.outcome, h.workerId]),
      )
        .toEqual([[1, "completed", "owner"]]);
    },
    30_000,
  );

  for (const noticed of ["by its heartbeat", "only when it settles"] as const) {
    test(`A worker whose lease was taken over cannot overwrite the new owner's outcome (noticed ${noticed})`, async () => {
      // Two clocks an hour apart make worker A's lease look expired to
      // worker B at once, as if A had frozen: no waiting for an expiry.
      const dir = tempDir();
      const db = join(dir, "tasks.db");
      const clockA = new ManualClock();
      const clockB = new ManualClock(clockA.now() + 2 * HOUR);
      const queueA = newQueue({ clock: clockA }, db);
      const startedA = deferred();
      const releaseA = deferred();
      const returnedA = deferred();
      const abortedA = deferred<unknown>();
      const job = queueA.task("job", async function (this: TaskContext) {
        this.signal.addEventListener(
          "abort",
          () => abortedA.resolve(this.signal.reason),
        );
        startedA.resolve();
        await releaseA.promise;
        returnedA.resolve();
        return "from A";
      });
      const id = await queueA.enqueue(job);
      const viaHeartbeat = noticed === "by its heartbeat";
      const workerA = track(queueA.worker({
        workerId: "A",
        pollInterval: HOUR,
        // A heartbeat that fires soon, or never within the test.
        leaseDuration: viaHeartbeat ? 1000 : HOUR,
        heartbeatInterval: viaHeartbeat ? 20 : HOUR - 1,
      }));
      const completedA: unknown[] = [];
      workerA.on("completed", (payload) => completedA.push(payload));
      const errorsA: Error[] = [];
      workerA.on("error", ({ error }) => errorsA.push(error));
      await workerA.start();
      await startedA.promise;

      // B recovers the "expired" lease and runs attempt 2, held by a latch
      // so that A's late outcome arrives while B owns the running task.
      const queueB = newQueue({ clock: clockB }, db);
      const startedB = deferred();
      const releaseB = deferred();
      queueB.task("job", async function (this: TaskContext) {
        startedB.resolve();
        await releaseB.promise;
        return `from B, attempt ${this.attempt}`;
      });
      const processing = queueB.worker({ workerId: "B" }).processOne();
      try {
        await startedB.promise;
        expect(await queueB.getResult(id)).toEqual({
          status: "running",
          attempts: 2,
          workerId: "B",
        });
        if (viaHeartbeat) {
          expect(await abortedA.promise).toBeInstanceOf(LeaseLostError);
          await waitUntil(
            () => errorsA.some((e) => e instanceof LeaseLostError),
            "A's error event",
          );
        }
        releaseA.resolve();
        await returnedA.promise;
        await workerA.stop(); // writes whatever A still had to write
        expect(await queueB.getResult(id)).toEqual({
          status: "running",
          attempts: 2,
          workerId: "B",
        });
      } finally {
        releaseA.resolve();
        releaseB.resolve();
      }
      expect(await processing).toBe(true);
      expect(completedA).toEqual([]);
      expect(workerA.stats()).toMatchObject({
        completed: 0,
        failed: 0,
        retried: 0,
      });
      expect(await queueA.getResult(id)).toEqual({
        status: "completed",
        value: "from B, attempt 2",
        attempts: 2,
      });
      expect(
        (await queueA.getTask(id)).history.map((
          h,
        ) => [h.attempt, h.outcome, h.workerId]),
      )
        .toEqual([[1, "lost", "A"], [2, "completed", "B"]]);
    });
  }
});
