/**
 * Messages users read when something is refused: each names what was being
 * done, the option or the database path, and the rule, in the same form as
 * every other option message ("Cannot <action> as '<option>' must be
 * <rule>: current value is <value>"); and the documented behaviour of
 * aborting a wait and of requeueing a delayed task.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseError, SQLiteBackend, TaskQueue } from "../mod.ts";
import { SCHEMA_VERSION } from "../lib/storage/sqlite/migrations.ts";
import {
  cleanup,
  newQueue,
  rejectionOf,
  tempDbPath,
  tempDir,
  thrownBy,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

function messageOf(fn: () => unknown): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe("backoff messages read like every other option message", () => {
  test("an unknown backoff type", () => {
    const queue = newQueue();
    const error = thrownBy(() =>
      queue.task("x3", () => 1, { backoff: { type: "linear" } as never })
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(
      `Cannot define task "x3" as 'backoff.type' must be "fixed" or "exponential": current value is "linear"`,
    );
  });

  test("a backoff that is not an object or function, and a bad delay", () => {
    const queue = newQueue();
    expect(
      messageOf(() => queue.task("a", () => 1, { backoff: 5 as never })),
    ).toBe(
      `Cannot define task "a" as 'backoff' must be { type: "fixed" | "exponential", delay } or a function: current value is 5`,
    );
    expect(
      messageOf(() =>
        queue.task("b", () => 1, { backoff: { type: "fixed", delay: -1 } })
      ),
    ).toBe(
      `Cannot define task "b" as 'backoff.delay' must be a finite number of milliseconds >= 0: current value is -1`,
    );
  });
});

test("a priority that is not a safe integer says so, without the bound", () => {
  const queue = newQueue();
  const task = queue.task("p", () => 1);
  for (const priority of [1.5, 2 ** 60, -(2 ** 60)]) {
    const message = messageOf(() => task.with({ priority }));
    expect(message).toContain("'priority' must be a safe integer");
    expect(message).not.toContain("9007199254740991");
  }
  expect(messageOf(() => queue.task("q", () => 1, { priority: 0.5 })))
    .toContain("'priority' must be a safe integer");
});

describe("database errors name the path", () => {
  test("SCHEMA_TOO_NEW names the file", async () => {
    const path = tempDbPath();
    const writer = new TaskQueue(new SQLiteBackend(path));
    await writer.stats();
    await writer.close();
    withRaw(path, (db) =>
      db.run(
        "update sitq_meta set value = ? where key = 'schema_version'",
        [String(SCHEMA_VERSION + 1)],
      ));
    const queue = newQueue({}, path);
    const error = await rejectionOf(queue.stats());
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe("SCHEMA_TOO_NEW");
    expect((error as Error).message).toStartWith(`Cannot open "${path}": `);
    expect((error as Error).message).toContain("upgrade sitq");
  });

  test("a path that is a directory is called a directory", async () => {
    const path = join(tempDir(), "adir.db");
    mkdirSync(path);
    const queue = newQueue({}, path);
    const error = await rejectionOf(queue.stats());
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe("CANNOT_OPEN");
    expect((error as Error).message).toContain(
      `Cannot open "${path}": it is a directory`,
    );
    expect((error as Error).message).not.toContain("directory exists");
  });

  test("a missing directory keeps its own message", async () => {
    const path = join(tempDir(), "missing", "tasks.db");
    const error = await rejectionOf(newQueue({}, path).stats());
    expect((error as DatabaseError).code).toBe("CANNOT_OPEN");
    expect((error as Error).message).toContain("check that its directory");
  });
});

describe("documented behaviour, kept", () => {
  test("an aborted waitForResult rejects with the signal's reason, as documented", async () => {
    const queue = newQueue();
    const task = queue.task("t", () => 1);
    const id = await queue.enqueue(task);
    const reason = new Error(`stopped waiting for task ${id}`);
    const controller = new AbortController();
    const waiting = rejectionOf(
      queue.waitForResult(id, { signal: controller.signal }),
    );
    controller.abort(reason);
    expect(await waiting).toBe(reason);

    const bare = new AbortController();
    bare.abort();
    const error = await rejectionOf(
      queue.waitForResult(id, { signal: bare.signal }),
    );
    expect((error as Error).name).toBe("AbortError");
  });

  test("requeue of a cancelled delayed task makes it due now, as documented", async () => {
    let now = 1_000_000;
    const queue = newQueue({ clock: { now: () => now } });
    const task = queue.task("t", () => 1);
    const id = await queue.enqueue(task.with({ delay: 3_600_000 }));
    await queue.cancel(id);
    now += 5;
    await queue.requeue(id);
    const result = await queue.getResult(id);
    expect(result.status).toBe("queued");
    expect(result.status === "queued" && result.runAt.getTime()).toBe(now);
  });
});

test("docs state what the code does", async () => {
  const readme = await Bun.file(join(import.meta.dir, "..", "README.md"))
    .text();
  expect(readme).toContain("makes the task due now");
  expect(readme).toContain("rejects the wait with the signal's");
  expect(readme).toContain("`null` is never");
});
