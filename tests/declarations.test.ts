/**
 * Task declarations through the public API, in one process on real SQLite
 * files (issue 11, "Producers without handlers"): `declareTask` makes a
 * name-and-types declaration, `queue.declare` registers it for a producer,
 * `queue.task(declaration, handler)` binds a handler in a worker, and the
 * registry refuses what would make two processes disagree. The
 * cross-process runs are in declarations_processes.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  type BindOptions,
  DeclarationConflictError,
  declareTask,
  DuplicateTaskError,
  type Logger,
  SitqError,
  type SQLiteBackend,
  type TaskDeclaration,
  TaskQueue,
  UnknownTaskError,
  Worker,
} from "../mod.ts";
import {
  cleanup,
  closeLater,
  completed,
  ManualClock,
  newQueue,
  tempDbPath,
  thrownBy,
  waitUntil,
} from "./helpers.ts";
import { track } from "./worker_helpers.ts";

afterAll(cleanup);

type Resized = { path: string; width: number };

/** The shared module of a real application, made fresh per test. */
function declarations() {
  return {
    resize: declareTask<[path: string, width: number], Resized>("resize", {
      maxAttempts: 5,
      timeout: 30_000,
      priority: 2,
    }),
    email: declareTask<[to: string], string>("email"),
  };
}

const resizeHandler = (path: string, width: number): Resized => ({
  path: `${width}/${path}`,
  width,
});

/** `fn` throws an error of `type` whose message contains `text`. */
function expectThrows(
  fn: () => unknown,
  type: abstract new (...args: never[]) => Error,
  text: string,
): Error {
  const error = thrownBy(fn) as Error;
  expect(error).toBeInstanceOf(type);
  expect(error.message).toContain(text);
  return error;
}

describe("declareTask()", () => {
  test("makes a frozen declaration of a name and options, with no handler", () => {
    const { resize } = declarations();
    expect(resize.name).toBe("resize");
    expect(resize.options).toEqual({
      maxAttempts: 5,
      timeout: 30_000,
      priority: 2,
    });
    expect("handler" in resize).toBe(false);
    expect(Object.isFrozen(resize)).toBe(true);
    expect(Object.isFrozen(resize.options)).toBe(true);
  });

  test("copies the options: changing the object given afterwards changes nothing", () => {
    const options = { maxAttempts: 2 };
    const task = declareTask<[], void>("copied", options);
    options.maxAttempts = 9;
    expect(task.options).toEqual({ maxAttempts: 2 });
  });

  test("refuses a bad name or option as queue.task() does, saying it was declaring", () => {
    expectThrows(
      () => declareTask(" padded"),
      RangeError,
      'Cannot declare task as its name must be 1 to 200 characters without leading or trailing spaces: current value is " padded"',
    );
    expectThrows(
      () => declareTask(42 as unknown as string),
      TypeError,
      "Cannot declare task as its name must be a string",
    );
    expectThrows(
      () => declareTask("t", { maxAttempts: 0 }),
      RangeError,
      "Cannot declare task \"t\" as 'maxAttempts'",
    );
    expectThrows(
      () => declareTask("t", { delay: 5 } as never),
      TypeError,
      "Cannot declare task \"t\" as 'delay' is not an option",
    );
  });

  test("with() returns a declaration with run options, merged like a task's", () => {
    const { resize } = declarations();
    const later = resize.with({ delay: 1000, priority: 9 }).with({
      runAt: new Date(0),
    });
    expect(later.runOptions).toEqual({ priority: 9, runAt: new Date(0) });
    expect(later.options).toEqual(resize.options);
    expect(resize.runOptions).toBeUndefined();
    expectThrows(
      () => resize.with({ bogus: 1 } as never),
      TypeError,
      "'bogus' is not an option",
    );
  });
});

describe("a producer: queue.declare() and enqueue", () => {
  test("enqueues a declared task with its declared defaults, typed by the declaration", async () => {
    const { resize } = declarations();
    const queue = newQueue();
    queue.declare(resize);
    const id = await queue.enqueue(resize, "cat.png", 200);
    const record = await queue.getTask(id);
    expect(record).toMatchObject({
      name: "resize",
      args: ["cat.png", 200],
      status: "queued",
      maxAttempts: 5,
      timeout: 30_000,
      priority: 2,
    });
    // with() and enqueueMany options override the declared defaults.
    const [urgent] = await queue.enqueueMany(
      resize.with({ priority: 7 }),
      [["dog.png", 1]],
      { maxAttempts: 1 },
    );
    expect(await queue.getTask(urgent!)).toMatchObject({
      priority: 7,
      maxAttempts: 1,
    });
    // Nothing here can run it.
    expect(queue.tasks).toEqual([]);
  });

  test("refuses an unregistered declaration with UnknownTaskError that says how to register it", async () => {
    const { resize } = declarations();
    const queue = newQueue();
    const error = await queue.enqueue(resize, "cat.png", 1).catch((e) => e);
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect(error.taskName).toBe("resize");
    expect(error.message).toBe(
      'Cannot enqueue task "resize": no task of that name is registered on this queue; register its declaration first: queue.declare(declaration) in a process that only enqueues, or queue.task(declaration, handler) where it runs',
    );
    expect(await queue.stats()).toMatchObject({ queued: 0 });
  });

  test("declaring again, or an equal declaration of the name, is harmless", async () => {
    const queue = newQueue();
    const first = declareTask<[number], number>("double", {
      backoff: { type: "fixed", delay: 10 },
    });
    // Another module instance of the same declaration: equal name and options.
    const again = declareTask<[number], number>("double", {
      backoff: { type: "fixed", delay: 10 },
    });
    queue.declare(first, first);
    queue.declare(again);
    await queue.enqueue(again, 1);
    await queue.enqueue(first, 2);
    expect((await queue.stats()).queued).toBe(2);
  });

  test("refuses what is not a declaration with a TypeError, registering none of the list", async () => {
    const queue = newQueue();
    const { resize } = declarations();
    const plain = queue.task("plain", () => 1);
    expectThrows(
      () => queue.declare(resize, plain as never),
      TypeError,
      'Cannot declare a task as it must be given a declaration from declareTask(): current value is the task "plain", which already has a handler',
    );
    // resize came first in the list, yet was not kept.
    expect(await queue.enqueue(resize, "a", 1).catch((e) => e))
      .toBeInstanceOf(UnknownTaskError);
    expectThrows(
      () => queue.declare("resize" as never),
      TypeError,
      'current value is the string "resize" (a declaration is an object: declareTask<Args, Result>("resize"))',
    );
    expectThrows(
      () => queue.declare({ name: "resize", options: {} } as never),
      TypeError,
      "must be given a declaration from declareTask()",
    );
    expectThrows(
      () => queue.declare(undefined as never),
      TypeError,
      "current value is undefined",
    );
  });
});

describe("a producer: queue.inTransaction(trx)", () => {
  test("enqueues a declaration in the application's transaction: committed with it, or rolled back", async () => {
    const queue = newQueue();
    const backend = queue.backend as SQLiteBackend;
    const { resize } = declarations();
    queue.declare(resize);
    const id = await backend.transaction(async (trx) =>
      await queue.inTransaction(trx).enqueue(resize, "kept.png", 1)
    );
    expect(await queue.getTask(id)).toMatchObject({
      args: ["kept.png", 1],
      maxAttempts: 5,
    });
    const rolledBack = new Error("roll back");
    const error = await backend.transaction(async (trx) => {
      await queue.inTransaction(trx).enqueueMany(resize, [["gone.png", 2]]);
      throw rolledBack;
    }).catch((e) => e);
    expect(error).toBe(rolledBack);
    expect((await queue.stats()).queued).toBe(1);
    // Unregistered declarations are refused here too.
    const { email } = declarations();
    expect(
      await backend.transaction((trx) =>
        queue.inTransaction(trx).enqueue(email, "a")
      ).catch((e) => e),
    ).toBeInstanceOf(UnknownTaskError);
  });
});

describe("conflicting definitions of one name", () => {
  test("two declarations of a name with other options", () => {
    const queue = newQueue();
    queue.declare(declareTask<[string], void>("email", { maxAttempts: 5 }));
    const error = expectThrows(
      () =>
        queue.declare(declareTask<[string], void>("email", { maxAttempts: 1 })),
      DeclarationConflictError,
      'Cannot declare task "email": it is registered on this queue with another declaration (options {"maxAttempts":5}, given {"maxAttempts":1}); every process must share one declaration of a task, so import it from one module',
    );
    expect((error as DeclarationConflictError).code).toBe(
      "DECLARATION_CONFLICT",
    );
    expect((error as DeclarationConflictError).taskName).toBe("email");
  });

  test("two conflicting declarations in one declare() call register neither", async () => {
    const queue = newQueue();
    const a = declareTask<[], void>("a");
    const b1 = declareTask<[], void>("b", { priority: 1 });
    const b2 = declareTask<[], void>("b", { priority: 2 });
    expectThrows(
      () => queue.declare(a, b1, b2),
      DeclarationConflictError,
      'task "b"',
    );
    expect(await queue.enqueue(a).catch((e) => e)).toBeInstanceOf(
      UnknownTaskError,
    );
  });

  test("a function backoff is compared by identity", () => {
    const queue = newQueue();
    const backoff = (attempt: number) => attempt * 100;
    queue.declare(declareTask<[], void>("fn", { backoff }));
    queue.declare(declareTask<[], void>("fn", { backoff }));
    expectThrows(
      () =>
        queue.declare(
          declareTask<[], void>("fn", { backoff: (n) => n * 100 }),
        ),
      DeclarationConflictError,
      '"backoff":"[function backoff]"',
    );
  });

  test("a declaration and a task defined with its own handler, in either order", () => {
    const { email } = declarations();
    const declaredFirst = newQueue();
    declaredFirst.declare(email);
    expectThrows(
      () => declaredFirst.task("email", (to: string) => to),
      DeclarationConflictError,
      'Cannot define task "email" with a handler of its own: it is declared on this queue; bind the handler to its declaration with queue.task(declaration, handler)',
    );

    const definedFirst = newQueue();
    definedFirst.task("email", (to: string) => to);
    expectThrows(
      () => definedFirst.declare(email),
      DeclarationConflictError,
      'Cannot declare task "email" from its declaration: a task of that name with a handler of its own is defined on this queue (queue.task("email", handler)); define it from the declaration instead',
    );
    expectThrows(
      () => definedFirst.task(email, (to) => to),
      DeclarationConflictError,
      'Cannot bind a handler to task "email" from its declaration',
    );
  });

  test("enqueueing a declaration that differs from the registered one", async () => {
    const queue = newQueue();
    queue.declare(declareTask<[string], void>("email", { maxAttempts: 5 }));
    const other = declareTask<[string], void>("email", { maxAttempts: 1 });
    const error = await queue.enqueue(other, "a").catch((e) => e);
    expect(error).toBeInstanceOf(DeclarationConflictError);
    expect(error.message).toStartWith(
      'Cannot enqueue task "email": it is registered on this queue with another declaration',
    );
    expect((await queue.stats()).queued).toBe(0);
  });

  test("a plain task of a declared name is refused at enqueue", async () => {
    const queue = newQueue();
    queue.task("email", (to: string) => to);
    const { email } = declarations();
    expect(await queue.enqueue(email, "a").catch((e) => e)).toBeInstanceOf(
      DeclarationConflictError,
    );
  });
});

describe("a worker: queue.task(declaration, handler)", () => {
  test("binds a handler; the producer's ids come back with its results", async () => {
    const path = tempDbPath();
    const producer = newQueue({}, path);
    const workerQueue = newQueue({}, path);
    const { resize } = declarations();
    producer.declare(resize);
    const bound = workerQueue.task(resize, resizeHandler);
    expect(bound.name).toBe("resize");
    expect(bound.options).toEqual(resize.options);
    expect(workerQueue.tasks).toEqual([bound]);

    const id = await producer.enqueue(resize, "cat.png", 200);
    const worker = track(workerQueue.worker());
    await worker.start();
    expect(await producer.waitForResult(id, { timeout: 10_000 })).toEqual(
      completed({ path: "200/cat.png", width: 200 }),
    );
    // The bound task enqueues like the declaration.
    const again = await workerQueue.enqueue(bound, "dog.png", 1);
    expect(await producer.waitForResult(again, { timeout: 10_000 }))
      .toEqual(completed({ path: "1/dog.png", width: 1 }));
  });

  test("a declaration is registered by binding it: the worker's process may enqueue it", async () => {
    const queue = newQueue();
    const { email } = declarations();
    queue.task(email, (to) => `sent to ${to}`);
    const id = await queue.enqueue(email, "ada@example.com");
    expect(await queue.worker().processOne()).toBe(true);
    expect(await queue.getResult(id)).toEqual(
      completed("sent to ada@example.com"),
    );
  });

  test("declare, then bind, is one registration", () => {
    const queue = newQueue();
    const { email } = declarations();
    queue.declare(email);
    queue.task(email, (to) => to);
    queue.declare(email);
    expect(queue.tasks.map((task) => task.name)).toEqual(["email"]);
  });

  test("binding a second handler to a declaration is a DuplicateTaskError", () => {
    const queue = newQueue();
    const { email } = declarations();
    queue.task(email, (to) => to);
    const error = expectThrows(
      () => queue.task(email, (to) => to.toUpperCase()),
      DuplicateTaskError,
      'Cannot bind a handler to task "email": another handler is already bound to it on this queue; a task has one handler per queue',
    );
    expect(error).toBeInstanceOf(SitqError);
    expect((error as DuplicateTaskError).code).toBe("DUPLICATE_TASK");
    expect((error as DuplicateTaskError).taskName).toBe("email");
  });

  test("binding the same handler again replaces the task in place with its new options", () => {
    const queue = newQueue();
    const { resize, email } = declarations();
    queue.task(resize, resizeHandler);
    queue.task(email, (to) => to);
    const rebound = queue.task(resize, resizeHandler, {
      backoff: { type: "fixed", delay: 5 },
    });
    expect(queue.tasks.map((task) => task.name)).toEqual(["resize", "email"]);
    expect(queue.tasks[0]).toBe(rebound);
    expect(rebound.options.backoff).toEqual({ type: "fixed", delay: 5 });
  });

  test("a second plain handler under a taken name is still DUPLICATE_TASK, now typed", () => {
    const queue = newQueue();
    queue.task("x", () => 1);
    const error = expectThrows(
      () => queue.task("x", () => 2),
      DuplicateTaskError,
      'Cannot define task "x": another handler is already registered under that name on this queue; pick another name',
    );
    expect((error as SitqError).code).toBe("DUPLICATE_TASK");
  });

  test("refuses to bind what is not a declaration, or a handler that is not a function", () => {
    const queue = newQueue();
    const plain = queue.task("plain", () => 1);
    expectThrows(
      () => queue.task(plain as never, () => 1),
      TypeError,
      'Cannot bind a handler to a task as it must be given a declaration from declareTask(): current value is the task "plain", which already has a handler',
    );
    expectThrows(
      () => queue.task({ name: "fake" } as never, () => 1),
      TypeError,
      "current value is an object with name",
    );
    const { email } = declarations();
    expectThrows(
      () => queue.task(email, "send" as never),
      TypeError,
      'Cannot bind a handler to task "email" as its handler must be a function: current value is string',
    );
    expect(queue.tasks).toEqual([plain]);
  });

  test("bind options: backoff only; the options producers write belong to the declaration", () => {
    const queue = newQueue();
    const { resize } = declarations();
    for (const key of ["maxAttempts", "timeout", "priority"]) {
      expectThrows(
        () => queue.task(resize, resizeHandler, { [key]: 1 } as BindOptions),
        TypeError,
        `Cannot bind a handler to task "resize" as '${key}' belongs to its declaration: producers write it into every run they enqueue, so give it to declareTask("resize", { ${key} }) where they see it too`,
      );
    }
    expectThrows(
      () => queue.task(resize, resizeHandler, { bogus: 1 } as BindOptions),
      TypeError,
      "'bogus' is not an option; the known option is backoff",
    );
    expectThrows(
      () =>
        queue.task(resize, resizeHandler, {
          backoff: { type: "linear", delay: 1 },
        } as never),
      TypeError,
      "'backoff.type'",
    );
    expectThrows(
      () => queue.task(resize, resizeHandler, { backoff: null } as never),
      TypeError,
      "'backoff' must not be null",
    );
    expect(queue.tasks).toEqual([]);
  });

  test("the worker retries with the declared backoff, or the one given when binding", async () => {
    for (
      const [bind, delay] of [
        [undefined, 700],
        [{ backoff: { type: "fixed", delay: 40 } }, 40],
      ] as const
    ) {
      const clock = new ManualClock();
      const queue = newQueue({ clock });
      const flaky = declareTask<[], string>("flaky", {
        backoff: { type: "fixed", delay: 700 },
      });
      let calls = 0;
      queue.task(flaky, () => {
        if (++calls === 1) throw new Error("first try fails");
        return "ok";
      }, bind);
      const id = await queue.enqueue(flaky);
      const worker = queue.worker();
      expect(await worker.processOne()).toBe(true);
      const record = await queue.getTask(id);
      expect(record.status).toBe("queued");
      expect(record.runAt.getTime()).toBe(clock.now() + delay);
    }
  });
});

describe("what workers run", () => {
  test("queue.worker() runs the bound tasks only; a declared-but-unbound name stays queued and is reported", async () => {
    const queue = newQueue();
    const { resize, email } = declarations();
    queue.declare(resize, email);
    queue.task(email, (to) => to);
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const logger: Logger = { warn: (data) => warnings.push(data) };
    const worker = track(queue.worker({ logger }));
    expect(worker.taskNames).toEqual(["email"]);

    const resizeId = await queue.enqueue(resize, "cat.png", 1);
    const emailId = await queue.enqueue(email, "ada@example.com");
    await worker.start();
    expect(await queue.waitForResult(emailId, { timeout: 10_000 })).toEqual(
      completed("ada@example.com"),
    );
    await waitUntil(
      () => warnings.some((data) => data?.unhandled !== undefined),
      "the worker to warn about resize",
    );
    expect(warnings.find((data) => data?.unhandled !== undefined))
      .toMatchObject({ unhandled: { resize: 1 }, handledHere: ["email"] });
    expect((await queue.getResult(resizeId)).status).toBe("queued");
  });

  test("queue.worker() on a queue with declarations only says a worker needs a handler", () => {
    const queue = newQueue();
    queue.declare(declarations().resize);
    expectThrows(
      () => queue.worker(),
      TypeError,
      "Cannot create a worker as no task on this queue has a handler: its tasks are only declared, and a worker runs handlers; bind one with queue.task(declaration, handler) first",
    );
  });

  test("new Worker() refuses a declaration among its tasks", () => {
    const queue = newQueue();
    const { resize, email } = declarations();
    const bound = queue.task(email, (to) => to);
    expectThrows(
      () =>
        new Worker(queue.backend, {
          tasks: [bound, resize as never],
        }),
      TypeError,
      `Cannot create Worker as 'tasks' holds the declaration of task "resize", which has no handler: bind one with queue.task(declaration, handler) and pass the task it returns`,
    );
  });

  test("one declaration binds on two queues (two databases), each with its own handler", async () => {
    const { email } = declarations();
    const a = closeLater(new TaskQueue(newQueue().backend));
    const b = newQueue();
    a.task(email, (to) => `a:${to}`);
    b.task(email, (to) => `b:${to}`);
    const [idA, idB] = [
      await a.enqueue(email, "x"),
      await b.enqueue(email, "y"),
    ];
    await a.worker().processOne();
    await b.worker().processOne();
    expect(await a.getResult(idA)).toEqual(completed("a:x"));
    expect(await b.getResult(idB)).toEqual(completed("b:y"));
  });
});

test("a declaration is the same type as a task of its shape (type-level, see tests/types)", () => {
  // Runtime counterpart of the type tests: a bound task can stand where a
  // declaration is expected.
  const queue = newQueue();
  const { email } = declarations();
  const bound = queue.task(email, (to) => to);
  const asDeclaration: TaskDeclaration<[string], string> = bound;
  expect(asDeclaration.name).toBe("email");
});
