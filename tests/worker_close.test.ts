/**
 * Closing a queue, or its backend, under a running worker: `queue.close()`
 * stops the workers on its backend gracefully first (those it made and
 * those made with `new Worker(backend)`), so a running task's outcome is
 * written; a backend closed directly makes its worker stop with one warning,
 * never a "retrying" error. Latches, never sleeps.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type Logger, SQLiteBackend, TaskQueue, Worker } from "../mod.ts";
import { cleanup, heldTask, tempDbPath } from "./helpers.ts";

afterAll(cleanup);

/** A logger that keeps each call as [level, message]. */
function recordingLogger(): { logger: Logger; lines: [string, string][] } {
  const lines: [string, string][] = [];
  const at = (level: string) => (_data: unknown, message?: string) => {
    lines.push([level, message ?? ""]);
  };
  return {
    lines,
    logger: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    } as Logger,
  };
}

describe("queue.close() under a running worker", () => {
  for (const shape of ["queue.worker()", "new Worker(backend)"] as const) {
    test(
      `stops a ${shape} gracefully first: the running task completes and is written`,
      async () => {
        const path = tempDbPath();
        const queue = new TaskQueue(new SQLiteBackend(path));
        const held = heldTask(queue, "held", 42, { maxAttempts: 1 });
        const id = await queue.enqueue(held.task);
        const { logger, lines } = recordingLogger();
        const worker = shape === "queue.worker()"
          ? queue.worker({ logger })
          : new Worker(queue.backend, { tasks: [held.task], logger });
        const reason = worker.run();
        await held.started;
        const closed = queue.close();
        held.release();
        await closed;
        expect(await reason).toBe("stop");
        expect(held.wasAborted()).toBe(false);
        const reader = new TaskQueue(new SQLiteBackend(path));
        try {
          expect(await reader.getResult(id)).toMatchObject({
            status: "completed",
            value: 42,
          });
        } finally {
          await reader.close();
        }
        expect(lines.filter(([level]) => level === "error")).toEqual([]);
      },
      30_000,
    );
  }
});

describe("a backend closed directly under a running worker", () => {
  test(
    'the worker stops with one warning saying what became of its held task, never a "retrying" error',
    async () => {
      const path = tempDbPath();
      const backend = new SQLiteBackend(path);
      const queue = new TaskQueue(backend);
      const held = heldTask(queue, "held", 1);
      await queue.enqueue(held.task);
      const { logger, lines } = recordingLogger();
      const worker = new Worker(backend, { tasks: [held.task], logger });
      const reason = worker.run();
      await held.started;
      await backend.close();
      held.release();
      expect(await reason).toBe("closed");
      const warnings = lines.filter(([, message]) =>
        message.includes("closed")
      );
      expect(warnings.map(([level]) => level)).toEqual(["warn"]);
      expect(warnings[0]![1]).toContain("held task");
      expect(lines.some(([, message]) => message.includes("retrying"))).toBe(
        false,
      );
      // The finished handler's signal is left alone.
      expect(held.wasAborted()).toBe(false);
    },
    30_000,
  );
});
