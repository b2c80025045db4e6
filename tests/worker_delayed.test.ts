/**
 * Delayed tasks no change announces to the worker (enqueued before it
 * started, or by another process) run when due, not at the next poll: a
 * claim that comes up short learns from the backend when the next queued
 * task is due. The poll interval is an hour, so only that wake-up can run
 * them within the hang guards.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { TaskId } from "../mod.ts";
import { cleanup, HOUR, newQueue, tempDbPath } from "./helpers.ts";
import { spawnFixture, track } from "./worker_helpers.ts";

afterAll(cleanup);

describe("a delayed task with pollInterval one hour", () => {
  test("enqueued before start() runs when due", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n);
    const id = await queue.enqueue(job.with({ delay: 200 }), 7);
    const worker = track(queue.worker({ pollInterval: HOUR }));
    await worker.start();
    expect(await queue.waitForResult(id, { timeout: 20_000 })).toMatchObject({
      status: "completed",
      value: 7,
    });
  }, 30_000);

  test(
    "enqueued by another process while the worker runs runs when due",
    async () => {
      const path = tempDbPath();
      const queue = newQueue({}, path);
      queue.task("job", (n: number) => n);
      const worker = track(queue.worker({ pollInterval: HOUR }));
      await worker.start();
      const child = spawnFixture("enqueue_delayed.ts", [path, "200"]);
      expect(await child.exited).toBe(0);
      const id = JSON.parse(child.stdout) as TaskId;
      expect(await queue.waitForResult(id, { timeout: 20_000 })).toMatchObject({
        status: "completed",
        value: 7,
      });
    },
    30_000,
  );
});
