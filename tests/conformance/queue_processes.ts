/**
 * Named queues across real worker processes (tests/fixtures/queue_worker.mjs),
 * run by tests/queues_processes.test.ts: a global concurrency of 2 across
 * three processes, observed from the handlers' own start and end times; a
 * rate limit across three processes, checked on every sliding window of
 * the claims' start times; a pause from this process that the processes
 * obey while other queues run; and a worker with `queues: ["a"]` that never
 * runs another queue's task.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Claimer,
  describeClaimer,
  ready,
  spawnClaimer,
} from "./claim_processes.ts";
import type { Suite, TestContext } from "./harness.ts";

const WORKER = fileURLToPath(
  new URL("../fixtures/queue_worker.mjs", import.meta.url),
);

/** One line of a worker's log. */
interface LogLine {
  kind: "start" | "end";
  n: number;
  queue: string;
  at: number;
}

/** Starts a worker process; returns it once it printed "ready". */
async function startWorker(
  t: TestContext,
  config: { queues: string[] | null; concurrency: number; sleepMs: number },
  log: string,
): Promise<Claimer> {
  writeFileSync(log, "");
  const child = spawnClaimer(
    { store: t.store().spec, log, ...config },
    t.sitqModule,
    WORKER,
  );
  t.defer(() => child.proc.kill("SIGKILL"));
  await ready(child).catch((error) => {
    throw new Error(`${error}\n${describeClaimer(child)}`);
  });
  return child;
}

/** Stops a worker process gracefully (stdin ends) and waits for its exit. */
async function stopWorker(child: Claimer): Promise<void> {
  child.proc.stdin!.end();
  const code = await child.exited;
  assert.equal(code, 0, describeClaimer(child));
}

/** The lines of a worker's log. */
function readLog(log: string): LogLine[] {
  return readFileSync(log, "utf8").split("\n").filter((line) => line !== "")
    .map((line) => {
      const [kind, n, queue, at] = line.split(" ");
      return {
        kind: kind as "start" | "end",
        n: Number(n),
        queue: queue!,
        at: Number(at),
      };
    });
}

/**
 * The most handlers running at once, from their start and end times. At
 * one instant an end counts before a start: a task claimed once another
 * settled started after that one's handler ended.
 */
function mostAtOnce(lines: readonly LogLine[]): number {
  const events = [...lines].sort((a, b) =>
    a.at - b.at || (a.kind === b.kind ? 0 : a.kind === "end" ? -1 : 1)
  );
  let running = 0;
  let most = 0;
  for (const event of events) {
    running += event.kind === "start" ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

/** The most of `times` (ms) within any window [t, t + width). */
function mostInWindow(times: readonly number[], width: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + width) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/** Polls until every task of `ids` completed; the hang guard bounds it. */
async function allCompleted(
  queue: InstanceType<TestContext["sitq"]["TaskQueue"]>,
  ids: readonly number[],
): Promise<void> {
  for (const id of ids) {
    const result = await queue.waitForResult(id, { timeout: 60_000 });
    assert.equal(result.status, "completed");
  }
}

/** Registers the cross-process named-queue tests. */
export function queueProcessTests({ test, factory }: Suite): void {
  if (!factory.processes) return;

  test(
    "a global concurrency of 2 across 3 worker processes is never exceeded, as the handlers observe it",
    async (t) => {
      const dir = t.tempDir();
      const queue = new t.sitq.TaskQueue(t.backend());
      const job = t.sitq.declareTask<[number, string], number>("job", {
        queue: "limited",
      });
      queue.declare(job);
      await queue.queues.setLimits("limited", { concurrency: 2 });
      const logs = [1, 2, 3].map((n) => join(dir, `worker-${n}.log`));
      const children = [];
      for (const log of logs) {
        children.push(
          await startWorker(
            t,
            { queues: null, concurrency: 3, sleepMs: 40 },
            log,
          ),
        );
      }
      const ids = await queue.enqueueMany(
        job,
        Array.from({ length: 24 }, (_, n) => [n, "limited"]),
      );
      await allCompleted(queue, ids);
      for (const child of children) await stopWorker(child);
      const lines = logs.flatMap(readLog);
      assert.equal(lines.filter((line) => line.kind === "start").length, 24);
      const perProcess = logs.map((log) => readLog(log).length / 2);
      assert.equal(mostAtOnce(lines), 2, `per process: ${perProcess}`);
    },
    { timeout: 60_000 },
  );

  test(
    "a rate limit of 5 per 1000 ms across 3 worker processes holds in every sliding window of claim times",
    async (t) => {
      const dir = t.tempDir();
      const queue = new t.sitq.TaskQueue(t.backend());
      const job = t.sitq.declareTask<[number, string], number>("job", {
        queue: "api",
      });
      queue.declare(job);
      await queue.queues.setLimits("api", {
        rateLimit: { limit: 5, intervalMs: 1000 },
      });
      const logs = [1, 2, 3].map((n) => join(dir, `worker-${n}.log`));
      const children = [];
      for (const log of logs) {
        children.push(
          await startWorker(
            t,
            { queues: null, concurrency: 4, sleepMs: 1 },
            log,
          ),
        );
      }
      const ids = await queue.enqueueMany(
        job,
        Array.from({ length: 15 }, (_, n) => [n, "api"]),
      );
      await allCompleted(queue, ids);
      for (const child of children) await stopWorker(child);
      // The claim's start time of each task (written in the claim
      // transaction): what the limit governs.
      const starts = await Promise.all(
        ids.map(async (id) => (await queue.getTask(id)).startedAt!.getTime()),
      );
      assert.equal(mostInWindow(starts, 1000), 5);
      // Every handler ran once, in whichever process claimed it.
      const ran = logs.flatMap(readLog).filter((line) => line.kind === "start");
      assert.deepEqual(
        ran.map((line) => line.n).sort((a, b) => a - b),
        Array.from({ length: 15 }, (_, n) => n),
      );
    },
    { timeout: 60_000 },
  );

  test(
    "worker processes obey a pause from this process while other queues run, and a worker with queues ['a'] runs only 'a'",
    async (t) => {
      // Two workers with disjoint lists, so that each must run its own.
      const dir = t.tempDir();
      const queue = new t.sitq.TaskQueue(t.backend());
      const job = t.sitq.declareTask<[number, string], number>("job");
      queue.declare(job);
      await queue.queues.pause("p");
      const onlyA = join(dir, "only-a.log");
      const others = join(dir, "b-and-p.log");
      const children = [
        await startWorker(
          t,
          { queues: ["a"], concurrency: 2, sleepMs: 5 },
          onlyA,
        ),
        await startWorker(
          t,
          { queues: ["b", "p"], concurrency: 2, sleepMs: 5 },
          others,
        ),
      ];
      const enqueue = (name: string, count: number) =>
        queue.enqueueMany(
          job.with({ queue: name }),
          Array.from({ length: count }, (_, n) => [n, name]),
        );
      const paused = await enqueue("p", 3);
      const running = [...await enqueue("a", 6), ...await enqueue("b", 6)];
      await allCompleted(queue, running);
      // The second worker ran all of "b" meanwhile, and nothing of "p".
      assert.deepEqual((await queue.queues.get("p")).counts, { queued: 3 });
      await queue.queues.resume("p");
      await allCompleted(queue, paused);
      for (const child of children) await stopWorker(child);
      const ranA = readLog(onlyA).filter((line) => line.kind === "start");
      assert.deepEqual(ranA.map((line) => line.queue), Array(6).fill("a"));
      const ranOthers = readLog(others).filter((line) => line.kind === "start");
      assert.deepEqual(
        ranOthers.map((line) => line.queue).sort(),
        [...Array(6).fill("b"), ...Array(3).fill("p")],
      );
    },
    { timeout: 60_000 },
  );
}
