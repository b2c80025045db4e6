/**
 * Untyped input to public options (JavaScript callers, values parsed from a
 * query string). sitq's one rule for `null`: it is a wrong value like any
 * other, refused with a TypeError that names the option, never taken as "not
 * given" (that is a left-out option or `undefined`) and never passed on to
 * the database. Before, `listTasks({ status: null })` leaked an SQL syntax
 * error and `limit: null` or `concurrency: null` fell back to the default.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cleanup, newQueue, rejectionOf, thrownBy } from "./helpers.ts";

afterAll(cleanup);

const NULL_MESSAGE = /must not be null.*current value is null/;

/** Checks that `error` is the null rule's TypeError naming `option`. */
function expectNullRefused(error: unknown, option: string): void {
  expect(error).toBeInstanceOf(TypeError);
  expect((error as Error).message).toMatch(NULL_MESSAGE);
  expect((error as Error).message).toContain(`'${option}'`);
}

describe("null is refused on every option, naming it", () => {
  test("listTasks: status, name, limit, cursor", async () => {
    const queue = newQueue();
    for (const option of ["status", "name", "limit", "cursor"]) {
      const error = await rejectionOf(
        queue.listTasks({ [option]: null } as never),
      );
      expectNullRefused(error, option);
    }
  });

  test("prune: olderThan, statuses", async () => {
    const queue = newQueue();
    for (const option of ["olderThan", "statuses"]) {
      const options = { olderThan: 0, [option]: null };
      const error = await rejectionOf(queue.prune(options as never));
      expectNullRefused(error, option);
    }
  });

  test("waitForResult: timeout, signal", async () => {
    const queue = newQueue();
    const task = queue.task("noop", () => 1);
    const id = await queue.enqueue(task);
    for (const option of ["timeout", "signal"]) {
      const error = await rejectionOf(
        queue.waitForResult(id, { [option]: null } as never),
      );
      expectNullRefused(error, option);
    }
  });

  test("run options: delay, runAt, priority, maxAttempts, timeout", () => {
    const queue = newQueue();
    const task = queue.task("noop", () => 1);
    for (
      const option of ["delay", "runAt", "priority", "maxAttempts", "timeout"]
    ) {
      expectNullRefused(
        thrownBy(() => task.with({ [option]: null } as never)),
        option,
      );
    }
  });

  test("task options: maxAttempts, backoff, timeout, priority", () => {
    const queue = newQueue();
    for (const option of ["maxAttempts", "backoff", "timeout", "priority"]) {
      expectNullRefused(
        thrownBy(() =>
          queue.task(`t-${option}`, () => 1, { [option]: null } as never)
        ),
        option,
      );
    }
  });

  test("worker options: concurrency and the others", () => {
    const queue = newQueue();
    queue.task("noop", () => 1);
    for (
      const option of [
        "concurrency",
        "pollInterval",
        "leaseDuration",
        "shutdownTimeout",
      ]
    ) {
      expectNullRefused(
        thrownBy(() => queue.worker({ [option]: null } as never)),
        option,
      );
    }
  });

  test("nothing null reached the database: the queue is still empty and usable", async () => {
    const queue = newQueue();
    await rejectionOf(queue.listTasks({ status: null } as never));
    expect((await queue.listTasks()).tasks).toEqual([]);
  });
});

describe("other untyped values get the same kind of error", () => {
  test("listTasks status that is neither a status nor an array", async () => {
    const queue = newQueue();
    for (const status of [5, {}, true]) {
      const error = await rejectionOf(
        queue.listTasks({ status } as never),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("'status' must be a status");
    }
  });

  test("listTasks status as an array of statuses works", async () => {
    const queue = newQueue();
    const task = queue.task("noop", () => 1);
    const id = await queue.enqueue(task);
    const page = await queue.listTasks({ status: ["queued", "running"] });
    expect(page.tasks.map((record) => record.id)).toEqual([id]);
    expect((await queue.listTasks({ status: [] })).tasks).toEqual([]);
  });

  test("prune statuses given as one string, not an array", async () => {
    const queue = newQueue();
    const error = await rejectionOf(
      queue.prune({ olderThan: 0, statuses: "failed" } as never),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain("'statuses' must be an array");
  });

  test("listTasks cursor that is not a cursor string", async () => {
    const queue = newQueue();
    for (const cursor of [true, [5], 5, " 5", "1e3"]) {
      const error = await rejectionOf(
        queue.listTasks({ cursor } as never),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("'cursor' must be");
    }
  });
});
