/**
 * A handler's `this` and its outcome as the executor takes it: the
 * context's fields and methods (which stay usable when taken off the
 * context), promise-like results, synchronous throws, and `undefined`
 * results through the serializer's shortcut. Real SQLite files.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SuperJSON } from "superjson";
import { SuperJsonSerializer, type TaskContext } from "../mod.ts";
import { cleanup, newQueue } from "./helpers.ts";

afterAll(cleanup);

describe("a handler's context", () => {
  test("fields and methods work when taken off the context", async () => {
    const queue = newQueue();
    const seen: Record<string, unknown>[] = [];
    const job = queue.task(
      "job",
      async function (this: TaskContext, step: number) {
        const {
          id,
          name,
          attempt,
          maxAttempts,
          workerId,
          signal,
          reportProgress,
          parents,
          parentResults,
        } = this;
        await reportProgress({ step });
        seen.push({
          id,
          name,
          attempt,
          maxAttempts,
          workerId,
          aborted: signal.aborted,
          parents: await parents(),
          results: await parentResults(job),
          same: this.reportProgress === reportProgress,
        });
        return step * 2;
      },
      { maxAttempts: 4 },
    );
    const id = await queue.enqueue(job, 21);
    const worker = queue.worker({ concurrency: 1 });
    expect(await worker.processOne()).toBe(true);
    expect(seen).toEqual([{
      id,
      name: "job",
      attempt: 1,
      maxAttempts: 4,
      workerId: worker.id,
      aborted: false,
      parents: [],
      results: [],
      same: true,
    }]);
    const record = await queue.getTask(id);
    expect(record.progress).toEqual({ step: 21 });
    expect(await queue.getResult(id)).toEqual({
      status: "completed",
      value: 42,
      attempts: 1,
    });
  });

  test("each attempt has its own context", async () => {
    const queue = newQueue();
    const contexts: TaskContext[] = [];
    const job = queue.task("job", function (this: TaskContext) {
      contexts.push(this);
    });
    await queue.enqueueMany(job, [[], []]);
    const worker = queue.worker({ concurrency: 2 });
    await worker.start();
    await worker.onIdle();
    await worker.stop();
    expect(contexts.length).toBe(2);
    expect(contexts[0]).not.toBe(contexts[1]);
    expect(contexts[0]!.id).not.toBe(contexts[1]!.id);
    expect(contexts[0]!.reportProgress).not.toBe(contexts[1]!.reportProgress);
  });
});

describe("a handler's outcome", () => {
  test("a promise-like result is awaited; a synchronous throw fails the attempt", async () => {
    const queue = newQueue();
    const thenable = queue.task("thenable", () => ({
      then(resolve: (value: string) => void) {
        setTimeout(() => resolve("later"), 1);
      },
    }));
    const throws = queue.task("throws", () => {
      throw new Error("at once");
    }, { maxAttempts: 1 });
    const nothing = queue.task("nothing", () => undefined);
    const a = await queue.enqueue(thenable);
    const b = await queue.enqueue(throws);
    const c = await queue.enqueue(nothing);
    const worker = queue.worker({ concurrency: 3 });
    await worker.start();
    await worker.onIdle();
    await worker.stop();
    expect(await queue.getResult(a)).toEqual({
      status: "completed",
      value: "later",
      attempts: 1,
    });
    const failed = await queue.getResult(b);
    expect(failed.status).toBe("failed");
    expect(failed.status === "failed" && failed.error.message).toBe("at once");
    expect(await queue.getResult(c)).toEqual({
      status: "completed",
      value: undefined,
      attempts: 1,
    });
  });
});

describe("SuperJsonSerializer and undefined", () => {
  test("writes what superjson writes, a custom transformer included", () => {
    const plain = new SuperJsonSerializer();
    const text = plain.serialize(undefined);
    expect(text).toBe(new SuperJSON().stringify(undefined));
    expect(plain.deserialize(text)).toBeUndefined();
    const custom = new SuperJSON();
    custom.registerCustom<undefined, string>({
      isApplicable: (value): value is undefined => value === undefined,
      serialize: () => "nothing",
      deserialize: () => undefined,
    }, "nothing");
    const withCustom = new SuperJsonSerializer(custom);
    expect(withCustom.serialize(undefined)).toBe(custom.stringify(undefined));
    expect(withCustom.serialize(undefined)).not.toBe(text);
  });
});
