/**
 * Faults a fresh user reported: `run({ duration: 0 })` ran a task, a
 * crash's stored error had no `code`, and an unserializable result was
 * logged with its message repeated down a chain of causes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type Logger, PermanentError } from "../mod.ts";
import { cleanup, newQueue } from "./helpers.ts";
import { track } from "./worker_helpers.ts";

afterAll(cleanup);

describe("run() with a stop due at the call", () => {
  test.each(
    [
      ["duration 0", { duration: 0 }, "duration"],
      ["a signal already aborted", { signal: AbortSignal.abort() }, "aborted"],
    ] as const,
  )(
    "%s claims nothing and resolves its reason",
    async (_, options, reason) => {
      const queue = newQueue();
      let runs = 0;
      const job = queue.task("job", () => {
        runs++;
      });
      const id = await queue.enqueue(job);
      const worker = track(queue.worker());
      expect(await worker.run(options)).toBe(reason);
      expect(runs).toBe(0);
      expect((await queue.getResult(id)).status).toBe("queued");
    },
  );
});
describe("a crashed worker's attempt", () => {
  test(
    "is stored as LeaseExpiredError with code LEASE_EXPIRED, and costs the attempt",
    async () => {
      const queue = newQueue();
      const job = queue.task("job", () => 1, { maxAttempts: 1 });
      const id = await queue.enqueue(job);
      // A worker that claimed the task and died: its lease has run out.
      const { claimed } = await queue.backend.settleAndClaim([], {
        workerId: "crashed",
        names: ["job"],
        limit: 1,
        now: Date.now(),
        leaseDuration: 1,
      });
      expect(claimed.map((task) => task.id)).toEqual([id]);
      const worker = track(queue.worker());
      await worker.start();
      const result = await queue.waitForResult(id, { timeout: 20_000 });
      expect(result).toMatchObject({
        status: "failed",
        error: { name: "LeaseExpiredError", code: "LEASE_EXPIRED" },
      });
    },
    30_000,
  );
});

describe("a result that cannot be serialized", () => {
  test(
    "is logged as one PermanentError whose causes never repeat its message",
    async () => {
      const queue = newQueue();
      const job = queue.task("job", () => () => "a function");
      const id = await queue.enqueue(job);
      const logged: unknown[] = [];
      const logger: Logger = {
        error: (data: unknown) => {
          logged.push((data as { err?: unknown }).err);
        },
      };
      const worker = track(queue.worker({ logger }));
      await worker.start();
      expect((await queue.waitForResult(id, { timeout: 20_000 })).status).toBe(
        "failed",
      );
      await worker.stop();
      const err = logged.find((e) => e instanceof PermanentError) as Error;
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.message).toContain("Cannot serialize the result");
      const messages: string[] = [];
      for (let e: unknown = err; e instanceof Error; e = e.cause) {
        messages.push(e.message);
      }
      expect(messages).toEqual([err.message]);
    },
    30_000,
  );
});
