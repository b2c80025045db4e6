/**
 * Workers in separate processes on one SQLite file: atomic claims under a
 * race, a backlog shared by three processes, crash recovery after SIGKILL,
 * leases renewed by a live worker, and enqueue/run/read split over three
 * processes. Children are real processes (tests/fixtures/): the races and
 * crash recovery run with worker processes on every runtime and driver
 * (Bun, Deno, Node 20, 22 and 24), the rest on Bun; handlers log
 * each run with appendFileSync, and the tests wait on files, output and
 * database states, never on amounts of time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  LeaseLostError,
  type TaskContext,
  type TaskId,
  type TaskQueue,
  type TaskResult,
  type WorkerOptions,
} from "../mod.ts";
import {
  cleanup,
  completed,
  deferred,
  expectCompleted,
  heldTask,
  HOUR,
  ManualClock,
  newQueue,
  numberedArgs,
  tempDbPath,
  waitUntil,
} from "./helpers.ts";
import {
  type Child,
  logLines,
  type ProcessFiles,
  processFiles,
  spawnFixture,
  spawnReadyWorkers,
  spawnWorker,
  statusCounts,
  track,
  waitForOutput,
  type WorkerProcessConfig,
} from "./worker_helpers.ts";
import {
  buildDist,
  RUNTIME_ROWS,
  type RuntimeTarget,
} from "./runtimes/matrix.ts";

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

/**
 * A queue on a fresh file with task "job" (it returns its argument), and
 * three idle worker processes p0, p1 and p2 polling that file, all ready.
 */
async function queueAndThreeWorkers(
  config: Partial<WorkerProcessConfig> = {},
  runtime?: RuntimeTarget,
) {
  const files = processFiles();
  const queue = newQueue({}, files.db);
  const job = queue.task("job", (n: number) => n);
  await queue.backend.open();
  const children = await spawnReadyWorkers(
    [0, 1, 2].map((i) => ({
      db: files.db,
      log: files.log,
      behaviour: "return",
      workerId: `p${i}`,
      pollInterval: 20,
      ...config,
    })),
    runtime,
  );
  return { ...files, queue, job, children };
}

/** Runs tests/fixtures/worker_enqueue.ts on `db`: `count` jobs; their ids. */
async function enqueueInProcess(db: string, count: number): Promise<TaskId[]> {
  const enqueue = spawnFixture("worker_enqueue.ts", [db, String(count)]);
  expect(await enqueue.exited).toBe(0);
  return JSON.parse(enqueue.stdout) as TaskId[];
}

/**
 * Starts worker process "doomed", which takes the queued task and hangs in
 * it, kills it with SIGKILL once its handler has started, and waits for it
 * to exit. `whileHanging` runs before the kill.
 */
async function killMidTask(
  files: ProcessFiles,
  leaseDuration: number,
  runtime: RuntimeTarget,
  whileHanging: () => Promise<void> = async () => {},
): Promise<Child> {
  const doomed = spawnWorker({
    db: files.db,
    log: files.log,
    behaviour: "hang",
    workerId: "doomed",
    leaseDuration,
  }, runtime);
  await waitUntil(
    () => logLines(files.log).length === 1,
    "the doomed worker to start the task",
  );
  await whileHanging();
  doomed.proc.kill("SIGKILL");
  await doomed.exited;
  return doomed;
}

/** Runs worker "rescuer" in this process until task `id` has ended. */
async function rescue(
  queue: TaskQueue,
  id: TaskId,
  options: Partial<WorkerOptions> = {},
): Promise<TaskResult> {
  const rescuer = track(
    queue.worker({ workerId: "rescuer", pollInterval: 50, ...options }),
  );
  await rescuer.start();
  const result = await queue.waitForResult(id, { timeout: 20_000 });
  await rescuer.stop();
  return result;
}

/** `[attempt, outcome, workerId]` of each attempt in task `id`'s history. */
async function attemptsOf(
  queue: TaskQueue,
  id: TaskId,
): Promise<Array<[number, string, string]>> {
  return (await queue.getTask(id)).history.map((h) => [
    h.attempt,
    h.outcome,
    h.workerId,
  ]);
}

// The claims and leases every runtime and driver must honour, with the
// worker processes on Bun, Deno and each Node of tests/node_versions.ts.
describe.each(RUNTIME_ROWS)(
  "Claims across worker processes on %s",
  (_, runtime) => {
    test(
      "One task and three racing worker processes: it runs exactly once",
      async () => {
        const { log, queue, job, children } = await queueAndThreeWorkers(
          {},
          runtime,
        );
        // All three are idle and polling; the task appears to all at once.
        const id = await queue.enqueue(job, 42);
        await expectCompleted(queue, id, 42, { timeout: 20_000 });
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
        const { db, log, queue, job, children } = await queueAndThreeWorkers(
          { concurrency: 4 },
          runtime,
        );
        const ids = await queue.enqueueMany(job, numberedArgs(300));
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
  },
);

describe("Claims across processes", () => {
  test(
    "A task enqueued in process A is run in process B and read in process C",
    async () => {
      const { db, log } = processFiles();
      const [id] = await enqueueInProcess(db, 1);
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
      ["an hour-long change poll (so only the file watch wakes it)", HOUR],
    ] as const
  ) {
    test(
      `An in-process worker with a one-hour pollInterval and ${label} runs a task enqueued by another process`,
      async () => {
        const db = tempDbPath();
        const queue = newQueue({ backend: { changePollInterval } }, db);
        queue.task("job", (n: number) => n + 1000);
        const worker = track(queue.worker({ pollInterval: HOUR }));
        await worker.start();
        await worker.onIdle();
        const [id] = await enqueueInProcess(db, 1);
        await expectCompleted(queue, id!, 1000, { timeout: 20_000 });
        await worker.stop();
      },
      30_000,
    );
  }
});

describe("Results from another process", () => {
  test(
    "With an hour-long change poll, the backend reports each of 30 completions a worker process writes, one task at a time",
    async () => {
      // Claim and completion in the worker process come a millisecond apart,
      // so the kernel often merges their write events into one: the backend
      // must keep probing after the first commit it sees, or it would miss
      // the completion until the (hour-long) poll. Watched through the
      // backend's own change events, since waitForResult() also re-reads
      // once a second and would hide a miss.
      const { db, log } = processFiles();
      const queue = newQueue({ backend: { changePollInterval: HOUR } }, db);
      const job = queue.task("job", (n: number) => n);
      await queue.backend.open();
      const seenCompleted = new Set<number>();
      let watching: TaskId | undefined;
      const unsubscribe = queue.backend.subscribe((change) => {
        const id = watching;
        if (change.type !== "external" || id === undefined) return;
        void queue.getResult(id).then((result) => {
          if (result.status === "completed") seenCompleted.add(id);
        });
      });
      const children = await spawnReadyWorkers([
        { db, log, behaviour: "return", pollInterval: HOUR },
      ]);
      try {
        for (let n = 0; n < 30; n++) {
          const id = await queue.enqueue(job, n);
          watching = id;
          await waitUntil(
            () => seenCompleted.has(id),
            `a change event after task ${id} completed`,
            { timeout: 10_000 },
          );
        }
      } finally {
        unsubscribe();
        await stopAll(children);
      }
      expect(seenCompleted.size).toBe(30);
    },
    60_000,
  );
});

describe.each(RUNTIME_ROWS)(
  "Leases across worker processes on %s",
  (_, runtime) => {
    test(
      "A worker process killed with SIGKILL mid-task: another worker completes it after the lease expires, with a lost attempt 1",
      async () => {
        const files = processFiles();
        const queue = newQueue({}, files.db);
        const job = queue.task("job", function (this: TaskContext, n: number) {
          return `attempt ${this.attempt} of ${n} by ${this.workerId}`;
        });
        const id = await queue.enqueue(job, 9);
        const doomed = await killMidTask(files, 500, runtime, async () => {
          expect(await queue.getResult(id)).toMatchObject({
            status: "running",
            workerId: "doomed",
          });
        });
        expect(doomed.proc.signalCode).toBe("SIGKILL");

        expect(await rescue(queue, id, { leaseDuration: 500 })).toEqual(
          completed("attempt 2 of 9 by rescuer", 2),
        );
        const record = await queue.getTask(id);
        expect(record.attempts).toBe(2);
        expect(await attemptsOf(queue, id)).toEqual([
          [1, "lost", "doomed"],
          [2, "completed", "rescuer"],
        ]);
        expect(record.history[0]!.error?.name).toBe("LeaseExpiredError");
        expect(logLines(files.log)).toEqual([`doomed ${id} 9`]);
      },
      30_000,
    );

    test(
      "A killed worker's task on its last attempt is failed by the recovery, not run again",
      async () => {
        const files = processFiles();
        const queue = newQueue({}, files.db);
        let runs = 0;
        const job = queue.task("job", () => {
          runs++;
        });
        const id = await queue.enqueue(job.with({ maxAttempts: 1 }));
        await killMidTask(files, 300, runtime);
        expect(await rescue(queue, id)).toMatchObject({
          status: "failed",
          attempts: 1,
          error: { name: "LeaseExpiredError" },
        });
        expect(runs).toBe(0);
        expect((await queue.getTask(id)).history.map((h) => h.outcome)).toEqual(
          [
            "lost",
          ],
        );
      },
      30_000,
    );
  },
);

describe("Leases across processes", () => {
  test(
    "A task that outlives its lease many times over runs once while its worker renews the lease",
    async () => {
      const { db, log } = processFiles();
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
      const [rival] = await spawnReadyWorkers([{
        db,
        log,
        behaviour: "return",
        workerId: "rival",
        leaseDuration,
        pollInterval: 20,
      }]);
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
      await expectCompleted(queue, id, "ran once");
      await owner.stop();
      await stopAll([rival!]);
      expect(logLines(log)).toEqual([]);
      expect(await attemptsOf(queue, id)).toEqual([[1, "completed", "owner"]]);
    },
    30_000,
  );

  for (const noticed of ["by its heartbeat", "only when it settles"] as const) {
    test(`A worker whose lease was taken over cannot overwrite the new owner's outcome (noticed ${noticed})`, async () => {
      // Two clocks an hour apart make worker A's lease look expired to
      // worker B at once, as if A had frozen: no waiting for an expiry.
      const db = tempDbPath();
      const clockA = new ManualClock();
      const clockB = new ManualClock(clockA.now() + 2 * HOUR);
      const queueA = newQueue({ clock: clockA }, db);
      const a = heldTask(queueA, "job", "from A");
      const id = await queueA.enqueue(a.task);
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
      await a.started;

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
          expect(await a.abortReason).toBeInstanceOf(LeaseLostError);
          await waitUntil(
            () => errorsA.some((e) => e instanceof LeaseLostError),
            "A's error event",
          );
        }
        a.release();
        await a.returned;
        await workerA.stop(); // writes whatever A still had to write
        expect(await queueB.getResult(id)).toEqual({
          status: "running",
          attempts: 2,
          workerId: "B",
        });
      } finally {
        a.release();
        releaseB.resolve();
      }
      expect(await processing).toBe(true);
      expect(completedA).toEqual([]);
      expect(workerA.stats()).toMatchObject({
        completed: 0,
        failed: 0,
        retried: 0,
      });
      expect(await queueA.getResult(id)).toEqual(
        completed("from B, attempt 2", 2),
      );
      expect(await attemptsOf(queueA, id)).toEqual([
        [1, "lost", "A"],
        [2, "completed", "B"],
      ]);
    });
  }
});
