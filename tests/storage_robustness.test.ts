/**
 * What closing, failing to open and bad values must not do: leave file
 * handles or locks behind, turn committed writes into errors, or store
 * something that cannot be read back.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  DatabaseError,
  SerializationError,
  type Serializer,
  SQLiteBackend,
  TaskQueue,
} from "../mod.ts";
import {
  cleanup,
  closeLater,
  completed,
  EMPTY_STATS,
  HOUR,
  newQueue,
  rejectionOf,
  tempDbPath,
  thrownBy,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

/** How many of this process's open files are in `dir` (Linux /proc). */
function openFilesIn(dir: string): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
    } catch {
      return false; // closed while we looked
    }
  }).length;
}

describe("SQLiteBackend.close()", () => {
  test("releases every file handle of the database (db, -wal, -shm) once it resolves", async () => {
    const path = tempDbPath();
    const queue = new TaskQueue(new SQLiteBackend(path));
    const job = queue.task("job", (n: number) => n);
    const id = await queue.enqueue(job, 1);
    const worker = queue.worker();
    await worker.start();
    await queue.waitForResult(id, { timeout: 10_000 });
    await worker.stop();
    await queue.listTasks();
    expect(openFilesIn(dirname(path))).toBeGreaterThan(0);
    await queue.close();
    expect(openFilesIn(dirname(path))).toBe(0);
  });

  test("during a bulk enqueue: the enqueue commits whole or fails with CLOSED, and no lock is left behind", async () => {
    // close() lands at a different point of the enqueue each round: before
    // it reaches the database, or while its transaction is open.
    for (let ticks = 0; ticks <= 12; ticks += 2) {
      const path = tempDbPath();
      const queue = new TaskQueue(new SQLiteBackend(path));
      const job = queue.task("job", (n: number) => n);
      await queue.enqueue(job, 0);
      const bulk = queue.enqueueMany(
        job,
        Array.from({ length: 2000 }, (_, n) => [n]),
      ).then((ids) => ids.length, (error: unknown) => error);
      for (let tick = 0; tick < ticks; tick++) await Promise.resolve();
      await queue.close();
      const outcome = await bulk;
      if (typeof outcome !== "number") {
        expect(outcome).toBeInstanceOf(DatabaseError);
        expect((outcome as DatabaseError).code).toBe("CLOSED");
      }
      // Another connection, which must not wait for any lock.
      const other = newQueue({ backend: { busyTimeout: 0 } }, path);
      const otherJob = other.task("job", (n: number) => n);
      await other.enqueue(otherJob, 1);
      const queued = (await other.stats()).queued;
      expect(queued).toBe(outcome === 2000 ? 2002 : 2);
    }
  });

  test("a call that reaches the database after close() fails with CLOSED", async () => {
    const queue = new TaskQueue(new SQLiteBackend(tempDbPath()));
    const job = queue.task("job", (n: number) => n);
    await queue.enqueue(job, 0);
    await queue.close();
    const error = await rejectionOf(queue.enqueue(job, 1));
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe("CLOSED");
  });
});

describe("A failed open", () => {
  test("of a file that is not a database leaves no file handle open, however often it is tried", async () => {
    const path = tempDbPath();
    writeFileSync(
      path,
      "this is not an SQLite database, just text ".repeat(50),
    );
    const backend = closeLater(new SQLiteBackend(path));
    for (let i = 0; i < 5; i++) {
      const error = await rejectionOf(backend.open());
      expect((error as DatabaseError).code).toBe("NOT_A_DATABASE");
    }
    expect(openFilesIn(dirname(path))).toBe(0);
  });
});

describe("Values that could not be read back", () => {
  const refused: Array<[string, () => unknown]> = [
    ["a Node Buffer", () => Buffer.from("bytes")],
    ["a DataView", () => new DataView(new ArrayBuffer(4))],
    ["an Error subclass", () => new TypeError("typed")],
    ["an invalid Date", () => new Date(Number.NaN)],
  ];
  for (const [what, make] of refused) {
    test(`${what} as an argument is refused at enqueue with a SerializationError, and nothing is written`, async () => {
      const queue = newQueue();
      const echo = queue.task("echo", (value: unknown) => value);
      const error = await rejectionOf(queue.enqueue(echo, make()));
      expect(error).toBeInstanceOf(SerializationError);
      expect((error as Error).message).toContain("at [0]");
      expect(await queue.stats()).toEqual(EMPTY_STATS);
    });
  }

  test("a Uint8Array and a plain Error are accepted and come back as they went in", async () => {
    const queue = newQueue();
    const echo = queue.task("echo", (value: unknown) => value);
    const bytes = await queue.enqueue(echo, new Uint8Array([1, 2, 3]));
    const error = await queue.enqueue(echo, new Error("plain"));
    const [bytesArg] = (await queue.getTask(bytes)).args;
    const [errorArg] = (await queue.getTask(error)).args;
    expect(bytesArg).toEqual(new Uint8Array([1, 2, 3]));
    expect(errorArg).toBeInstanceOf(Error);
    expect((errorArg as Error).message).toBe("plain");
  });

  test("a custom serializer that returns undefined (JSON.stringify of a function) is refused, not stored as an unreadable row", async () => {
    const json: Serializer = {
      serialize: (value) => JSON.stringify(value),
      deserialize: (text) => JSON.parse(text),
    };
    const queue = newQueue({ serializer: json });
    const fn = queue.task("fn", () => () => 1);
    const id = await queue.enqueue(fn);
    const worker = queue.worker();
    expect(await worker.processOne()).toBe(true);
    const result = await queue.waitForResult(id, { timeout: 10_000 });
    expect(result.status).toBe("failed");
    if (result.status !== "failed") return;
    expect(result.error.name).toBe("PermanentError");
    expect(result.error.message).toContain("returned undefined, not a string");
    expect((await queue.listTasks()).tasks).toHaveLength(1);
  });

  test("a handler that returns nothing completes with undefined under a JSON serializer too: undefined is stored as NULL, never serialized", async () => {
    const path = tempDbPath();
    const json: Serializer = {
      serialize: (value) => {
        if (value === undefined) {
          throw new Error("asked to serialize undefined");
        }
        return JSON.stringify(value);
      },
      deserialize: (text) => JSON.parse(text),
    };
    for (const serializer of [json, undefined]) {
      const queue = newQueue(serializer ? { serializer } : {}, path);
      const nothing = queue.task("nothing", () => {});
      const something = queue.task("something", () => null);
      const none = await queue.enqueue(nothing);
      const one = await queue.enqueue(something);
      expect(await queue.worker().processOne()).toBe(true);
      expect(await queue.worker().processOne()).toBe(true);
      expect(await queue.waitForResult(none, { timeout: 10_000 })).toEqual(
        completed(undefined),
      );
      expect(await queue.waitForResult(one, { timeout: 10_000 })).toEqual(
        completed(null),
      );
      expect((await queue.getTask(none)).result).toEqual(completed(undefined));
      const stored = withRaw(
        path,
        (db) =>
          db.query("select id, result from sitq_tasks where id in (?, ?)")
            .all(none, one) as { id: number; result: string | null }[],
      );
      expect(stored.find((row) => row.id === none)?.result).toBeNull();
      expect(stored.find((row) => row.id === one)?.result).not.toBeNull();
      await queue.close();
    }
  });

  test("a delay that would put the run time past the last representable date is refused with a RangeError", async () => {
    const queue = newQueue();
    const job = queue.task("job", () => {});
    const error = await rejectionOf(queue.enqueue(job.with({ delay: 1e16 })));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain("use a shorter 'delay'");
    expect(await queue.stats()).toEqual(EMPTY_STATS);
  });
});

describe("Options that used to disagree", () => {
  test("enqueueMany's runAt replaces a delay set with task.with(), as a later .with() would", async () => {
    const queue = newQueue();
    const job = queue.task("job", () => {});
    const runAt = new Date(Date.now() + 2 * HOUR);
    const [id] = await queue.enqueueMany(job.with({ delay: 10 }), [[]], {
      runAt,
    });
    expect((await queue.getTask(id!)).runAt).toEqual(runAt);
  });

  test("listTasks({ status: [] }) matches no task", async () => {
    const queue = newQueue();
    const job = queue.task("job", () => {});
    await queue.enqueue(job);
    expect((await queue.listTasks({ status: [] })).tasks).toEqual([]);
    expect((await queue.listTasks()).tasks).toHaveLength(1);
  });

  test("a change listener that throws does not fail the enqueue that committed, nor stop a worker", async () => {
    const queue = newQueue();
    const job = queue.task("job", (n: number) => n * 2);
    const unsubscribe = queue.backend.subscribe(() => {
      throw new Error("listener is broken");
    });
    try {
      const worker = queue.worker();
      await worker.start();
      const id = await queue.enqueue(job, 21);
      expect(await queue.waitForResult(id, { timeout: 10_000 })).toEqual({
        status: "completed",
        value: 42,
        attempts: 1,
      });
      await worker.stop();
    } finally {
      unsubscribe();
    }
  });
});

test("a missing directory is CANNOT_OPEN (also on better-sqlite3; see the runtime suites)", async () => {
  const backend = closeLater(
    new SQLiteBackend("/nonexistent-sitq-dir/sub/tasks.db"),
  );
  const error = await rejectionOf(backend.open());
  expect(error).toBeInstanceOf(DatabaseError);
  expect((error as DatabaseError).code).toBe("CANNOT_OPEN");
  expect(thrownBy(() => new SQLiteBackend(""))).toBeInstanceOf(TypeError);
});
