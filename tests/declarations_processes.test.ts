/**
 * Producers without handler code, across real processes on every runtime
 * and driver of tests/runtimes/matrix.ts (Bun and Deno on the sources, each
 * Node on the built package): a producer process that imports only the
 * declarations module (tests/fixtures/declared_tasks.mjs) enqueues; a worker
 * process binds the handlers (declared_handlers.mjs) to the same
 * declarations and runs them; the producer reads the results back. Loading
 * the handlers' module logs the loading process's id to a file, so the test
 * proves the producer never loaded it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanup, tempDir } from "./helpers.ts";
import { logLines, spawnFixture, waitForOutput } from "./worker_helpers.ts";
import { buildDist, RUNTIME_ROWS } from "./runtimes/matrix.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanup);

/** Hang guard for one producer/worker pair; a run takes about a second. */
const PAIR_TIMEOUT = 60_000;

describe.each(RUNTIME_ROWS)("on %s", (_label, runtime) => {
  test(
    "a producer that imports only the declarations enqueues; a worker process runs the bound handlers",
    async () => {
      const dir = tempDir();
      const config = JSON.stringify({
        db: join(dir, "tasks.db"),
        handlersLog: join(dir, "handlers-loaded-by.log"),
      });

      const worker = spawnFixture("declared_worker.mjs", [config], runtime);
      await waitForOutput(worker, "ready ");
      const [, workerPid, names] = /ready (\d+) (.*)/.exec(worker.stdout)!;
      // Only bound tasks run: "report" is declared but has no handler here.
      expect(JSON.parse(names!)).toEqual(["resize", "email"]);

      const producer = spawnFixture("declared_producer.mjs", [config], runtime);
      const code = await producer.exited;
      expect({ code, stderr: producer.stderr }).toEqual({
        code: 0,
        stderr: "",
      });
      const facts = JSON.parse(producer.stdout.trim());

      expect(facts).toEqual({
        pid: expect.any(Number),
        // Enqueueing before queue.declare() is refused, as for unknown tasks.
        refused: "UnknownTaskError",
        results: [
          {
            status: "completed",
            value: { path: "100/a.png", width: 100, pid: Number(workerPid) },
            attempts: 1,
          },
          {
            status: "completed",
            value: { path: "200/b.png", width: 200, pid: Number(workerPid) },
            attempts: 1,
          },
          {
            status: "completed",
            value: "sent to ada@example.com",
            attempts: 1,
          },
        ],
        // The declared defaults reach the rows the producer writes; a
        // per-run option (email.with({ priority: 9 })) overrides them.
        resizeRow: { maxAttempts: 2, priority: 3 },
        emailRow: { priority: 9, timeout: 60_000 },
        report: "queued",
        bound: 0,
      });
      // The handlers' module was loaded by the worker, never by the producer.
      expect(facts.pid).not.toBe(Number(workerPid));
      expect(logLines(join(dir, "handlers-loaded-by.log"))).toEqual([
        workerPid!,
      ]);

      // The declared task no worker binds is reported by the worker.
      await waitForOutput(worker, '"unhandled":{"report":1}');

      worker.proc.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
      expect(worker.stdout).toContain("stopped");
    },
    PAIR_TIMEOUT,
  );
});
