/**
 * Many `waitForResult` calls at once: each resolves with its own task's
 * result, one ending (timeout, abort) leaves the others waiting, and the
 * queue holds one backend subscription while any wait runs, none after.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  SQLiteBackend,
  TaskQueue,
  type Unsubscribe,
  WaitTimeoutError,
} from "../mod.ts";
import {
  cleanup,
  closeLater,
  completed,
  rejectionOf,
  tempDbPath,
} from "./helpers.ts";

afterAll(cleanup);

type Listener = Parameters<SQLiteBackend["subscribe"]>[0];

/** A real SQLite backend that counts its live subscriptions. */
class CountingBackend extends SQLiteBackend {
  subscriptions = 0;

  override subscribe(listener: Listener): Unsubscribe {
    const unsubscribe = super.subscribe(listener);
    this.subscriptions++;
    return () => {
      this.subscriptions--;
      unsubscribe();
    };
  }
}

function countingQueue(): { queue: TaskQueue; backend: CountingBackend } {
  const backend = new CountingBackend(tempDbPath());
  return { queue: closeLater(new TaskQueue(backend)), backend };
}

describe("TaskQueue.waitForResult() with many waits", () => {
  test("TaskQueue.waitForResult() resolves each of many concurrent waits with its own task's result", async () => {
    const { queue, backend } = countingQueue();
    const double = queue.task("double", (n: number) => n * 2);
    const ids = await queue.enqueueMany(double, [[1], [2], [3]]);
    const waits = ids.map((id) => queue.waitForResult(id, { timeout: 10_000 }));
    // Two waits on one id are two waits.
    const again = queue.waitForResult(ids[1]!, { timeout: 10_000 });
    expect(backend.subscriptions).toBe(1);
    const worker = queue.worker();
    for (let i = 0; i < ids.length; i++) {
      expect(await worker.processOne()).toBe(true);
    }
    expect(await Promise.all(waits)).toEqual([
      completed(2),
      completed(4),
      completed(6),
    ]);
    expect(await again).toEqual(completed(4));
    expect(backend.subscriptions).toBe(0);
  });

  test("TaskQueue.waitForResult() ending one wait by timeout or abort leaves the others waiting", async () => {
    const { queue, backend } = countingQueue();
    const echo = queue.task("echo", (s: string) => s);
    const [soon, later] = await queue.enqueueMany(echo, [["a"], ["b"]]);
    const waiting = queue.waitForResult(soon!, { timeout: 10_000 });
    const timedOut = rejectionOf(queue.waitForResult(later!, { timeout: 20 }));
    const controller = new AbortController();
    const aborted = rejectionOf(
      queue.waitForResult(later!, { signal: controller.signal }),
    );
    expect(await timedOut).toBeInstanceOf(WaitTimeoutError);
    controller.abort(new Error("gave up"));
    expect(((await aborted) as Error).message).toBe("gave up");
    expect(backend.subscriptions).toBe(1);
    await queue.worker().processOne();
    expect(await waiting).toEqual(completed("a"));
    expect(backend.subscriptions).toBe(0);
  });

  test("TaskQueue.waitForResult() subscribes again for a wait that starts after the others ended", async () => {
    const { queue, backend } = countingQueue();
    const echo = queue.task("echo", (s: string) => s);
    const first = await queue.enqueue(echo, "x");
    await queue.worker().processOne();
    expect(await queue.waitForResult(first)).toEqual(completed("x"));
    expect(backend.subscriptions).toBe(0);
    const second = await queue.enqueue(echo, "y");
    const waiting = queue.waitForResult(second, { timeout: 10_000 });
    expect(backend.subscriptions).toBe(1);
    await queue.worker().processOne();
    expect(await waiting).toEqual(completed("y"));
    expect(backend.subscriptions).toBe(0);
  });
});
