/**
 * Every example runs to the end by itself, exits 0, prints what it promises
 * and leaves no temp files behind. Each runs with its own TMPDIR, which must
 * be empty afterwards.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTempDirs, ROOT, run, tempDir } from "./helpers.ts";

afterAll(cleanupTempDirs);

/** Runs an example and returns its stdout, after the common checks. */
async function runExample(cmd: string[]): Promise<string> {
  const tmp = tempDir();
  const result = await run(cmd, { env: { TMPDIR: tmp }, timeout: 60_000 });
  const detail = `${
    cmd.join(" ")
  }\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, detail).toBe(0);
  expect(readdirSync(tmp), `${detail}\nleft in TMPDIR`).toEqual([]);
  return result.stdout;
}

const example = (name: string) => join(ROOT, "examples", name);

describe("basic.ts", () => {
  const check = (stdout: string) => {
    expect(stdout).toContain(
      "Final stats: 5 completed, 1 failed, 0 queued, 0 running, 0 cancelled",
    );
    expect(stdout).toContain("task 1: completed after 1 attempt(s): 5");
    expect(stdout).toContain(
      'task 4: completed after 3 attempt(s): "fetched https://example.com on attempt 3"',
    );
    expect(stdout.match(/task 4 \(fetchPage\) failed attempt \d/g))
      .toHaveLength(2);
    expect(stdout).toContain(
      "task 5: failed after 1 attempt(s): PermanentError: cannot divide by zero",
    );
    // The delayed task ran, and not before its delay.
    const delayed =
      /task 6: completed .*"stretch \(ran (\d+) ms after enqueue\)"/
        .exec(stdout);
    expect(Number(delayed?.[1])).toBeGreaterThanOrEqual(200);
  };

  test("on bun", async () => {
    check(await runExample([BIN.bun, example("basic.ts")]));
  });

  test("on deno", async () => {
    check(await runExample([BIN.deno, "run", "-A", example("basic.ts")]));
  });

  test("is what npm run example runs", async () => {
    const pkg = await Bun.file(join(ROOT, "package.json")).json();
    expect(pkg.scripts.example).toBe("bun examples/basic.ts");
  });
});

test("multiple_workers.ts: all tasks done, each by one worker", async () => {
  const stdout = await runExample([BIN.bun, example("multiple_workers.ts")]);
  expect(stdout).toContain("All 12 of 12 tasks completed");
  const counts = [
    ...stdout.matchAll(/worker ([ABC]) \(concurrency (\d)\): (\d+) tasks/g),
  ]
    .map((match) => ({
      worker: match[1],
      concurrency: match[2],
      tasks: Number(match[3]),
    }));
  expect(counts.map(({ worker, concurrency }) => `${worker}${concurrency}`))
    .toEqual(["A1", "B2", "C1"]);
  expect(counts.reduce((sum, { tasks }) => sum + tasks, 0)).toBe(12);
  expect(stdout).toContain("Per-worker counts add up to 12: no task ran twice");
  expect(stdout).toMatch(/1 worker\(s\): 6 slow tasks in \d+ ms/);
  expect(stdout).toMatch(/3 worker\(s\): 6 slow tasks in \d+ ms/);
  expect(stdout).toContain("=== Example completed ===");
});

test("specialised_workers.ts: each task name runs on its worker", async () => {
  const stdout = await runExample([BIN.bun, example("specialised_workers.ts")]);
  expect(stdout).toContain("fetchPage: 8 tasks, run by io-worker\n");
  expect(stdout).toContain("checksum: 4 tasks, run by cpu-worker\n");
  expect(stdout).toContain("every task ran on the worker specialised for it");
  expect(stdout).toContain("report: still queued, since no worker handles it");
  expect(stdout).toContain(
    'Final stats: {"waiting":0,"queued":1,"running":0,"completed":12,"failed":0,"cancelled":0}',
  );
});

describe("workflow.ts: GigQ's workflow guide, ported", () => {
  const check = (stdout: string) => {
    expect(stdout).toContain("Submitted 3 jobs");
    expect(stdout).toContain('analyze -> {"analysis":"Processed 1000 rows"}');
    expect(stdout).toContain('combine -> {"totalChunks":5}');
    expect(stdout).toContain(
      'generate_report -> {"report":"done","from":["download","split_data"]}',
    );
    expect(stdout.match(/ {2}process_chunk: completed/g)).toHaveLength(5);
    expect(stdout).toContain('cleanup -> "cleaned up after a failed fetch"');
    expect(stdout).toContain("publish: cancelled (PARENT_FAILED)");
    expect(stdout).toContain('after requeue: publish -> {"prices":42}');
    expect(stdout).toContain(
      'Final stats: {"waiting":0,"queued":0,"running":0,"completed":16,"failed":0,"cancelled":0}',
    );
    expect(stdout).toContain("=== Example completed ===");
  };
  const main = example("workflow.ts");

  test("on bun", async () => {
    check(await runExample([BIN.bun, main]));
  });

  test("on deno", async () => {
    check(await runExample([BIN.deno, "run", "-A", main]));
  });
});

test("graceful_shutdown.ts --self-test: SIGINT finishes one task and requeues another", async () => {
  const stdout = await runExample([
    BIN.bun,
    example("graceful_shutdown.ts"),
    "--self-test",
  ]);
  expect(stdout).toContain("SIGINT received");
  expect(stdout).toContain(
    "(transcode movie.mp4): queued, interrupted (InterruptedError) and back in the queue with 0 attempts used",
  );
  expect(stdout).toContain("(thumbnail photo-1.jpg): completed, finished");
  expect(stdout).toContain(
    "Shutdown complete: 1 finished, 1 requeued, 2 never started",
  );
});

test("worker_processes.ts: three processes share the work and exit on SIGTERM", async () => {
  const stdout = await runExample([BIN.bun, example("worker_processes.ts")]);
  expect(stdout).toContain(
    "[parent] all tasks done; sending SIGTERM to every worker",
  );
  const lines = [
    ...stdout.matchAll(/ (worker-\d): (\d+) tasks, exit code (\S+)/g),
  ];
  expect(lines.map((match) => [match[1], match[3]])).toEqual([
    ["worker-1", "0"],
    ["worker-2", "0"],
    ["worker-3", "0"],
  ]);
  expect(lines.reduce((sum, match) => sum + Number(match[2]), 0)).toBe(24);
  expect(stdout).toContain(
    "24 of 24 tasks completed by 3 worker processes; all exited cleanly",
  );
});

describe("declared_tasks/producer.ts: a producer without handler code and its worker process", () => {
  const check = (stdout: string) => {
    expect(stdout).toContain("[producer] enqueued 4 tasks");
    for (const file of ["cat-200.png", "dog-200.jpg", "fox-200.webp"]) {
      expect(stdout).toContain(`: ${file}\n`);
    }
    expect(stdout).toContain("[producer] notify: delivered to ada");
    expect(stdout).toContain("[producer] bound handlers in this process: 0");
    expect(stdout).toContain("[worker] stopped after 4 tasks");
  };
  const producer = example("declared_tasks/producer.ts");

  test("on bun", async () => {
    const stdout = await runExample([BIN.bun, producer]);
    check(stdout);
    expect(stdout).toContain("[producer] worker exited with 0");
  });

  test("on deno", async () => {
    // Deno 2.9 reports a child that handled SIGTERM and exited 0 as killed
    // by the signal (see worker_processes.ts); "stopped after" shows the
    // worker ran its graceful stop either way.
    const stdout = await runExample([BIN.deno, "run", "-A", producer]);
    check(stdout);
    expect(stdout).toMatch(/\[producer\] worker exited with (0|SIGTERM)\n/);
  });
});

describe("cpu_threads/main.ts: CPU-bound tasks run in parallel threads, and a runaway one is stopped at its timeout", () => {
  const check = (stdout: string) => {
    expect(stdout).toContain("task 1: 148933 primes below 2,000,000");
    expect(stdout).toContain("task 2: 148933 primes below 2,000,000");
    expect(stdout).toContain("they ran at the same time: yes");
    expect(stdout).toContain(
      "attempt 1: timed_out (TASK_TIMEOUT)\nattempt 2: completed\nresult: completed, finished on attempt 2",
    );
    expect(stdout).toContain("=== Example completed ===");
  };
  const main = example("cpu_threads/main.ts");

  test("on bun", async () => {
    check(await runExample([BIN.bun, main]));
  });

  test("on deno", async () => {
    check(await runExample([BIN.deno, "run", "-A", main]));
  });
});
