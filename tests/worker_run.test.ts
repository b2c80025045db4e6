/**
 * How a worker's run ends: `run()` in a real process on every runtime (Bun,
 * Deno, Node 20, 22 and 24) exits by itself after SIGINT, refuses a bad
 * option before it starts instead of crashing at SIGTERM, ends when its
 * AbortSignal aborts, and stops at once on a second SIGINT; in process, the
 * `maxTasks` budget is exact at any concurrency, and `run({ duration })` /
 * `run({ signal })` end the run gracefully and say why.
 *
 * Processes are waited for with generous hang guards; every assertion is on
 * behaviour (exit codes, output, task states), never on elapsed time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { StopReason, TaskId, TaskQueue } from "../mod.ts";
import {
  cleanup,
  completed,
  heldTask,
  HOUR,
  newQueue,
  numberedArgs,
  rejectionOf,
  tempDbPath,
  thrownBy,
  waitUntil,
} from "./helpers.ts";
import {
  type Child,
  logLines,
  processFiles,
  spawnFixture,
  spawnReadyWorkers,
  statusCounts,
  track,
  waitForOutput,
} from "./worker_helpers.ts";
import { buildDist, RUNTIME_ROWS } from "./runtimes/matrix.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanup);

/** Hang guard for a process that should end by itself: far beyond need. */
const EXIT_GUARD = 20_000;
/** Per test: room for a slow start plus the guard. */
const PROCESS_TEST_TIMEOUT = 60_000;

/**
 * The exit code of `child`; fails, with its output, if the process is still
 * alive `EXIT_GUARD` ms after the call (it would hang forever otherwise).
 */
async function exitCode(child: Child, after: string): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const alive = new Promise<"alive">((resolve) => {
    timer = setTimeout(() => resolve("alive"), EXIT_GUARD);
  });
  const result = await Promise.race([child.exited, alive]);
  clearTimeout(timer);
  if (result === "alive") {
    throw new Error(
      `the process did not exit within ${EXIT_GUARD} ms ${after}\nstdout: ${child.stdout}\nstderr: ${child.stderr}`,
    );
  }
  return result;
}

/** Expects `code` to be 0, showing the child's output if it is not. */
function expectCleanExit(child: Child, code: number | null): void {
  expect(code, `stdout: ${child.stdout}\nstderr: ${child.stderr}`).toBe(0);
}

describe.each(RUNTIME_ROWS)("worker.run() in a process on %s", (_, runtime) => {
  const runScript = (mode: string, db = tempDbPath()) => ({
    db,
    child: spawnFixture(
      "worker_run.mjs",
      [JSON.stringify({ db, mode })],
      runtime,
    ),
  });

  test(
    "after SIGINT, a run() script whose handlers awaited timers exits by itself, its queue left open",
    async () => {
      const { child } = runScript("timers");
      await waitForOutput(child, "ready");
      child.proc.kill("SIGINT");
      expectCleanExit(child, await exitCode(child, "after SIGINT"));
      expect(child.stdout).toContain("stopped SIGINT");
    },
    PROCESS_TEST_TIMEOUT,
  );

  test(
    "run() with an option it does not take is refused at once, naming it; SIGTERM then stops the worker cleanly and the running task is queued again",
    async () => {
      const { db, child } = runScript("bad-option");
      await waitForOutput(child, "ready");
      child.proc.kill("SIGTERM");
      expectCleanExit(child, await exitCode(child, "after SIGTERM"));
      expect(child.stdout).toContain("rejected TypeError");
      expect(child.stdout).toContain("'maxTasks' is not an option");
      expect(child.stdout).toContain("stopped SIGTERM");
      // Interrupted at the 100 ms deadline and given back at once, not left
      // running until its lease expires.
      const queue = newQueue({}, db);
      expect(await queue.getResult(1 as TaskId)).toMatchObject({
        status: "queued",
        attempts: 0,
      });
    },
    PROCESS_TEST_TIMEOUT,
  );

  test(
    "run({ duration: 1 hour, signal }) ends when the signal aborts, and the process exits by itself",
    async () => {
      const { db, child } = runScript("abort");
      expectCleanExit(child, await exitCode(child, "after the abort"));
      expect(child.stdout).toContain("stopped aborted");
      expect(statusCounts(db)).toEqual({ completed: 3 });
    },
    PROCESS_TEST_TIMEOUT,
  );

  test(
    "the first SIGINT says how long it waits; a second one stops at once, interrupting the running task, which is queued again",
    async () => {
      const files = processFiles();
      const [child] = await spawnReadyWorkers([{
        db: files.db,
        log: files.log,
        behaviour: "until-abort",
        stopTimeout: HOUR,
      }], runtime);
      const queue = newQueue({}, files.db);
      const job = queue.task("job", (n: number) => n);
      const id = await queue.enqueue(job, 1);
      await waitUntil(() => logLines(files.log).length === 1, "task to start");

      child!.proc.kill("SIGINT");
      await waitForOutput(child!, "shutdown signal received");
      expect(child!.stdout).toContain(`up to ${HOUR} ms`);
      // Still draining: the hour-long deadline has not passed.
      expect(child!.proc.exitCode).toBeNull();
      expect((await queue.getResult(id)).status).toBe("running");

      child!.proc.kill("SIGINT");
      expectCleanExit(child!, await exitCode(child!, "after a second SIGINT"));
      expect(child!.stdout).toContain("aborted InterruptedError");
      expect(await queue.getResult(id)).toMatchObject({
        status: "queued",
        attempts: 0,
      });
      expect((await queue.getTask(id)).history.map((h) => h.outcome)).toEqual(
        ["interrupted"],
      );
    },
    PROCESS_TEST_TIMEOUT,
  );
});

describe("run() options are checked before anything starts", () => {
  test("each bad option is refused with a TypeError or RangeError naming it, and the worker does not start", async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = track(queue.worker({ pollInterval: HOUR }));
    const cases: Array<[unknown, ErrorConstructor, string]> = [
      [{ duration: "1s" }, TypeError, "'duration'"],
      [{ duration: -1 }, RangeError, "'duration'"],
      [{ duration: Number.NaN }, RangeError, "'duration'"],
      [{ duration: 2 ** 31 }, RangeError, "'duration'"],
      [{ timeout: "10s" }, TypeError, "'timeout'"],
      [{ timeout: Infinity }, RangeError, "'timeout'"],
      [{ signal: {} }, TypeError, "'signal'"],
      [{ signal: "abort" }, TypeError, "'signal'"],
      [{ maxTasks: 1 }, TypeError, "'maxTasks' is not an option"],
      [{ durration: 1000 }, TypeError, "'durration' is not an option"],
      [5, TypeError, "options must be an object"],
      [null, TypeError, "options must be an object"],
    ];
    for (const [options, type, text] of cases) {
      const error = await rejectionOf(worker.run(options as never));
      expect(error, JSON.stringify(options)).toBeInstanceOf(type);
      expect((error as Error).message).toContain(text);
      expect(worker.running).toBe(false);
    }
  });

  test("maxTasks must be an integer >= 1", () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    for (
      const [value, type] of [
        [0, RangeError],
        [1.5, RangeError],
        [-3, RangeError],
        [Infinity, RangeError],
        ["3", TypeError],
      ] as const
    ) {
      const error = thrownBy(() => queue.worker({ maxTasks: value as number }));
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toContain("'maxTasks'");
    }
  });
});

/**
 * Task "job" on `queue`, whose handler records each start (by argument)
 * and yields to the event loop before returning, so at concurrency > 1
 * several run at once and slots free up between claims.
 */
function countedJob(queue: TaskQueue) {
  const starts: number[] = [];
  const job = queue.task("job", async (n: number) => {
    starts.push(n);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return n;
  });
  return { job, starts };
}

describe("maxTasks", () => {
  test.each([
    [1, 5, 12],
    [8, 5, 30],
    [8, 13, 40],
  ])(
    'at concurrency %i, maxTasks %i of %i queued: exactly that many start, run() says "maxTasks", and the next task stays queued with 0 attempts',
    async (concurrency, maxTasks, total) => {
      const path = tempDbPath();
      const queue = newQueue({}, path);
      const { job, starts } = countedJob(queue);
      const ids = await queue.enqueueMany(job, numberedArgs(total));
      const worker = track(
        queue.worker({ concurrency, maxTasks, pollInterval: HOUR }),
      );
      const reason: StopReason = await worker.run();
      expect(reason).toBe("maxTasks");
      expect(worker.running).toBe(false);
      expect(worker.stopReason).toBe("maxTasks");
      expect(starts.length).toBe(maxTasks);
      expect(statusCounts(path)).toEqual({
        completed: maxTasks,
        queued: total - maxTasks,
      });
      // Claims follow enqueue order: the first maxTasks ran, task N + 1 and
      // every later one never started.
      expect(starts.sort((a, b) => a - b)).toEqual(
        numberedArgs(maxTasks).map(([n]) => n),
      );
      for (const id of ids.slice(maxTasks)) {
        expect(await queue.getResult(id)).toMatchObject({
          status: "queued",
          attempts: 0,
        });
      }
    },
    30_000,
  );

  test("every claim counts: an attempt that fails and is claimed again counts again", async () => {
    const queue = newQueue();
    let runs = 0;
    const flaky = queue.task("flaky", () => {
      runs++;
      throw new Error("always");
    }, { maxAttempts: 10, backoff: { type: "fixed", delay: 0 } });
    const id = await queue.enqueue(flaky);
    const worker = track(queue.worker({ maxTasks: 3, pollInterval: HOUR }));
    expect(await worker.run()).toBe("maxTasks");
    expect(runs).toBe(3);
    expect(await queue.getResult(id)).toMatchObject({
      status: "queued",
      attempts: 3,
    });
  });

  test("with start(): done resolves and stopReason says maxTasks; each start() grants a fresh budget", async () => {
    const path = tempDbPath();
    const queue = newQueue({}, path);
    const { job, starts } = countedJob(queue);
    await queue.enqueueMany(job, numberedArgs(7));
    const worker = track(queue.worker({ maxTasks: 3, pollInterval: HOUR }));
    expect(worker.stopReason).toBeUndefined();
    await worker.start();
    await worker.done;
    expect(worker.running).toBe(false);
    expect(worker.stopReason).toBe("maxTasks");
    expect(starts.length).toBe(3);

    await worker.start();
    expect(worker.stopReason).toBeUndefined();
    await worker.done;
    expect(starts.length).toBe(6);
    expect(statusCounts(path)).toEqual({ completed: 6, queued: 1 });
  });

  test("a worker that ran out of budget stops by itself even with nothing left to claim, and onIdle() resolves", async () => {
    const queue = newQueue();
    const { job } = countedJob(queue);
    await queue.enqueueMany(job, numberedArgs(2));
    const worker = track(queue.worker({ maxTasks: 2, pollInterval: HOUR }));
    await worker.start();
    await worker.onIdle();
    await worker.done;
    expect(worker.stopReason).toBe("maxTasks");
  });

  test("processOne() is neither counted nor limited by maxTasks", async () => {
    const queue = newQueue();
    const { job, starts } = countedJob(queue);
    await queue.enqueueMany(job, numberedArgs(3));
    const worker = queue.worker({ maxTasks: 1 });
    expect(await worker.processOne()).toBe(true);
    expect(await worker.processOne()).toBe(true);
    expect(starts.length).toBe(2);
  });

  test("the budget's last tasks finish without a deadline; a stop() meanwhile brings its own and requeues them", async () => {
    const queue = newQueue();
    const held = heldTask(queue, "job", "late");
    const id = await queue.enqueue(held.task);
    const worker = track(queue.worker({ maxTasks: 1, pollInterval: HOUR }));
    const running = worker.run();
    await held.started;
    await waitUntil(() => worker.stopReason === "maxTasks", "budget spent");
    // Spent, yet the last task runs on: no deadline came with the budget.
    expect(worker.running).toBe(true);
    expect(held.wasAborted()).toBe(false);
    await worker.stop({ timeout: 0 });
    expect(await running).toBe("maxTasks");
    expect(held.wasAborted()).toBe(true);
    expect(await queue.getResult(id)).toMatchObject({
      status: "queued",
      attempts: 0,
    });
    held.release();
  });
});

describe("run({ duration }) and run({ signal })", () => {
  test('an idle run({ duration }) ends by itself with "duration" and leaves no signal listener behind', async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const before = ["SIGINT", "SIGTERM"].map((s) => process.listenerCount(s));
    const worker = track(queue.worker({ pollInterval: HOUR }));
    const running = worker.run({ duration: 20 });
    await waitUntil(
      () => process.listenerCount("SIGINT") > before[0]!,
      "run() to listen for SIGINT",
    );
    expect(await running).toBe("duration");
    expect(worker.running).toBe(false);
    expect(["SIGINT", "SIGTERM"].map((s) => process.listenerCount(s)))
      .toEqual(before);
  });

  test("at the end of the duration a running task finishes gracefully (timeout permitting) before run() returns", async () => {
    const queue = newQueue();
    const held = heldTask(queue, "job", "finished");
    const id = await queue.enqueue(held.task);
    const worker = track(queue.worker({ pollInterval: HOUR }));
    const running = worker.run({ duration: 10, timeout: HOUR });
    await held.started;
    await waitUntil(() => worker.stopReason === "duration", "the stop");
    expect(worker.running).toBe(true);
    expect(held.wasAborted()).toBe(false);
    held.release();
    expect(await running).toBe("duration");
    expect(await queue.getResult(id)).toEqual(completed("finished"));
  });

  test("run({ signal }) stops gracefully when the signal aborts", async () => {
    const queue = newQueue();
    const { job } = countedJob(queue);
    const worker = track(queue.worker({ pollInterval: HOUR }));
    const controller = new AbortController();
    const running = worker.run({ signal: controller.signal, duration: HOUR });
    const id = await queue.enqueue(job, 4);
    await queue.waitForResult(id, { timeout: 10_000 });
    controller.abort();
    expect(await running).toBe("aborted");
    expect(worker.running).toBe(false);
  });

  test("a signal that has already aborted ends the run at once", async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = track(queue.worker({ pollInterval: HOUR }));
    expect(await worker.run({ signal: AbortSignal.abort() })).toBe("aborted");
    expect(worker.running).toBe(false);
  });

  test('a stop() from elsewhere ends run() with "stop"; the first cause of a stop is the one reported', async () => {
    const queue = newQueue();
    queue.task("noop", () => {});
    const worker = track(queue.worker({ pollInterval: HOUR }));
    const controller = new AbortController();
    const running = worker.run({ signal: controller.signal });
    await waitUntil(() => worker.running, "the worker to run");
    await worker.stop();
    controller.abort();
    expect(await running).toBe("stop");
    expect(worker.stopReason).toBe("stop");
  });

  test('a run({ duration }) that ends by maxTasks first returns "maxTasks"', async () => {
    const queue = newQueue();
    const { job } = countedJob(queue);
    await queue.enqueueMany(job, numberedArgs(2));
    const worker = track(queue.worker({ maxTasks: 1, pollInterval: HOUR }));
    expect(await worker.run({ duration: HOUR })).toBe("maxTasks");
  });
});
