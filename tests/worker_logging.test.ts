/**
 * What a worker tells its logger, and in a form loggers keep: every call is
 * `(data, message)`, the order pino takes, so a pino logger keeps every
 * field, and `console` prints both. Failures, retries and timeouts are
 * logged with the task's id, name and attempt.
 *
 * The pino-shaped logger below is a recorder written for this test: it
 * takes exactly the call forms pino documents for its level methods
 * (`(obj, msg?, ...args)` and `(msg, ...args)`) and turns each call into
 * the line pino would write: the object's fields merged into the line,
 * `msg` from the message formatted printf-style with the remaining
 * arguments, and arguments with no placeholder dropped (which is how pino
 * loses a `(message, data)` call's data). Console is tested for real, in a
 * process on every runtime.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Logger, PermanentError, type TaskContext } from "../mod.ts";
import {
  cleanup,
  deferred,
  HOUR,
  newQueue,
  tempDbPath,
  waitUntil,
} from "./helpers.ts";
import { spawnFixture, track } from "./worker_helpers.ts";
import { buildDist, RUNTIME_ROWS } from "./runtimes/matrix.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanup);

/** pino's level method, as its documentation gives the call forms. */
interface PinoLogFn {
  <T extends object>(obj: T, msg?: string, ...args: unknown[]): void;
  (obj: unknown, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
}

/** One line as pino writes it: the level, the merged fields, `msg`. */
type PinoLine = Record<string, unknown> & { level: string; msg?: string };

/**
 * pino's printf-style formatting of `msg`: `%s`, `%d`, `%o`, `%O`, `%j`
 * take the next argument; `%%` is a percent sign; arguments left over are
 * dropped.
 */
function formatMessage(msg: string, args: unknown[]): string {
  let next = 0;
  return msg.replace(/%[sdoOj%]/g, (token) => {
    if (token === "%%") return "%";
    if (next >= args.length) return token;
    const arg = args[next++];
    if (token === "%d") return String(Number(arg));
    if (token === "%s") return String(arg);
    return JSON.stringify(arg);
  });
}

/** A logger with pino's level methods that keeps each call and each line. */
class PinoShapedLogger {
  /** Every call, with its level and arguments exactly as given. */
  readonly calls: Array<{ level: string; args: unknown[] }> = [];
  /** What pino would have written for each call. */
  readonly lines: PinoLine[] = [];
  readonly trace: PinoLogFn = this.#method("trace");
  readonly debug: PinoLogFn = this.#method("debug");
  readonly info: PinoLogFn = this.#method("info");
  readonly warn: PinoLogFn = this.#method("warn");
  readonly error: PinoLogFn = this.#method("error");
  readonly fatal: PinoLogFn = this.#method("fatal");

  #method(level: string): PinoLogFn {
    return (first: unknown, ...rest: unknown[]): void => {
      this.calls.push({ level, args: [first, ...rest] });
      const line: PinoLine = { level };
      let msg: unknown;
      let args: unknown[];
      if (typeof first === "object" && first !== null) {
        // An Error alone goes under `err`; any other object is merged.
        Object.assign(line, first instanceof Error ? { err: first } : first);
        [msg, ...args] = rest;
      } else {
        [msg, args] = [first, rest];
      }
      if (typeof msg === "string") line.msg = formatMessage(msg, args);
      this.lines.push(line);
    };
  }

  /** The lines whose `msg` is `msg`. */
  find(msg: string): PinoLine[] {
    return this.lines.filter((line) => line.msg === msg);
  }
}

describe("a pino-shaped logger", () => {
  test("is a Logger, and every field of every line reaches it: failures, retries and timeouts with their task id, name and attempt", async () => {
    const queue = newQueue();
    const pino = new PinoShapedLogger();
    // The type check is part of the test: a pino logger must fit as it is.
    const logger: Logger = pino;
    let flakyRuns = 0;
    const flaky = queue.task("flaky", () => {
      flakyRuns++;
      if (flakyRuns === 1) throw new Error("flaky failure");
      return "fine";
    }, { maxAttempts: 3, backoff: { type: "fixed", delay: 0 } });
    const doomed = queue.task("doomed", () => {
      throw new PermanentError("no point retrying");
    }, { maxAttempts: 3 });
    const slow = queue.task(
      "slow",
      function (this: TaskContext) {
        return new Promise((_, reject) =>
          this.signal.addEventListener(
            "abort",
            () => reject(this.signal.reason),
          )
        );
      },
      { timeout: 20, maxAttempts: 2, backoff: { type: "fixed", delay: 0 } },
    );
    const worker = track(queue.worker({ logger, pollInterval: HOUR }));
    await worker.start();
    const ids = {
      flaky: await queue.enqueue(flaky),
      doomed: await queue.enqueue(doomed),
      slow: await queue.enqueue(slow),
    };
    for (const id of Object.values(ids)) {
      await queue.waitForResult(id, { timeout: 10_000 });
    }
    await worker.stop();

    // Every call is (fields, message): nothing for pino to drop.
    expect(pino.calls.length).toBeGreaterThan(0);
    for (const { args } of pino.calls) {
      expect(args.length).toBe(2);
      expect(typeof args[0]).toBe("object");
      expect(typeof args[1]).toBe("string");
    }
    const task = (
      name: keyof typeof ids,
      attempt: number,
      maxAttempts = 3,
    ) => ({
      workerId: worker.id,
      taskId: ids[name],
      taskName: name,
      attempt,
      maxAttempts,
    });

    const [retry, ...moreRetries] = pino.find("task attempt failed; retrying");
    expect(moreRetries).toEqual([]);
    expect(retry).toMatchObject({ level: "warn", ...task("flaky", 1) });
    expect(retry!.err).toBeInstanceOf(Error);
    expect((retry!.err as Error).message).toBe("flaky failure");
    expect(retry!.retryAt).toBeInstanceOf(Date);

    expect(pino.find("task failed")).toEqual([
      expect.objectContaining({ level: "error", ...task("doomed", 1) }),
    ]);
    expect((pino.find("task failed")[0]!.err as Error).name).toBe(
      "PermanentError",
    );

    const timedOut = pino.find("task attempt timed out; retrying");
    expect(timedOut).toEqual([
      expect.objectContaining({
        level: "warn",
        ...task("slow", 1, 2),
        timeout: 20,
      }),
    ]);
    expect((timedOut[0]!.err as Error).name).toBe("TaskTimeoutError");
    expect(pino.find("task timed out and failed")).toEqual([
      expect.objectContaining({
        level: "error",
        ...task("slow", 2, 2),
        timeout: 20,
      }),
    ]);

    expect(pino.find("task completed")).toEqual([
      expect.objectContaining({ level: "debug", ...task("flaky", 2) }),
    ]);
    expect(pino.find("worker started")[0]).toMatchObject({
      level: "info",
      workerId: worker.id,
      tasks: ["flaky", "doomed", "slow"],
    });
    expect(pino.find("worker stopped")[0]).toMatchObject({
      level: "info",
      workerId: worker.id,
      reason: "stop",
      completed: 1,
      failed: 2,
      retried: 2,
    });
  });

  test("a task interrupted by a stop is logged with its id, name and attempt", async () => {
    const queue = newQueue();
    const pino = new PinoShapedLogger();
    const started = deferred();
    const hold = queue.task("hold", function (this: TaskContext) {
      started.resolve();
      return new Promise((_, reject) =>
        this.signal.addEventListener("abort", () => reject(this.signal.reason))
      );
    });
    const id = await queue.enqueue(hold);
    const worker = track(queue.worker({ logger: pino, pollInterval: HOUR }));
    await worker.start();
    await started.promise;
    await worker.stop({ timeout: 0 });
    expect(
      pino.find(
        "task interrupted by the stop; queued again, the attempt not counted",
      ),
    ).toEqual([
      expect.objectContaining({
        level: "warn",
        taskId: id,
        taskName: "hold",
        attempt: 1,
      }),
    ]);
    expect(pino.find("worker stopping")[0]).toMatchObject({
      reason: "stop",
      running: 1,
      timeout: 0,
    });
  });

  test("what the old (message, data) order would have lost: pino keeps only the message", () => {
    // The recorder's own check: a call in the order sitq used before keeps
    // the message and drops the data, exactly as pino does.
    const pino = new PinoShapedLogger();
    pino.warn("task failed", { taskId: 1 });
    pino.warn({ taskId: 1 }, "task failed");
    pino.info("%s of %d", "one", 2, "dropped");
    expect(pino.lines).toEqual([
      { level: "warn", msg: "task failed" },
      { level: "warn", taskId: 1, msg: "task failed" },
      { level: "info", msg: "one of 2" },
    ]);
  });
});

describe.each(RUNTIME_ROWS)("logger: console on %s", (_, runtime) => {
  test(
    "console prints the retry and the timeout with their fields",
    async () => {
      const db = tempDbPath();
      const child = spawnFixture(
        "worker_run.mjs",
        [JSON.stringify({ db, mode: "console" })],
        runtime,
      );
      await waitUntil(
        () => child.proc.exitCode !== null || child.proc.signalCode !== null,
        "the console script to end",
        { timeout: 30_000 },
      );
      const output = child.stdout + child.stderr;
      expect(await child.exited, output).toBe(0);
      expect(child.stdout).toContain("done");
      // Each line shows its fields (quoted as each runtime quotes) and its
      // message.
      expect(output).toContain("task attempt failed; retrying");
      expect(output).toContain("flaky failure");
      expect(output).toMatch(/taskName: ["']flaky["']/);
      expect(output).toMatch(/taskId: 1\b/);
      expect(output).toMatch(/attempt: 1\b/);
      expect(output).toContain("task timed out and failed");
      expect(output).toMatch(/taskName: ["']slow["']/);
      expect(output).toMatch(/timeout: 20\b/);
      expect(output).toContain("TaskTimeoutError");
    },
    60_000,
  );
});
