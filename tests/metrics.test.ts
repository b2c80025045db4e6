/**
 * `prometheusMetrics()`: its text parses as the Prometheus exposition
 * format (tests/support/prometheus.ts checks HELP/TYPE, names, labels and
 * histogram buckets), the gauges match the database, and the counters and
 * duration histogram count what this process's workers did.
 */
import { afterAll, expect, test } from "bun:test";
import {
  PROMETHEUS_CONTENT_TYPE,
  prometheusMetrics,
  type TaskQueue,
} from "../mod.ts";
import { cleanup, ManualClock, newQueue, waitUntil } from "./helpers.ts";
import { parseExposition, sampleValue } from "./support/prometheus.ts";
import { describePostgres, postgresQueue } from "./support/postgres_tests.ts";

afterAll(cleanup);

/** Runs `count` ok tasks and one failing twice; names are prefixed to stay apart. */
async function runSome(queue: TaskQueue, prefix: string): Promise<void> {
  const ok = queue.task(`${prefix}_ok`, async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  });
  const bad = queue.task(`${prefix}_bad`, () => {
    throw new Error("nope");
  }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
  const ids = [
    await queue.enqueue(ok, 0),
    await queue.enqueue(ok, 1),
    await queue.enqueue(ok, 30),
    await queue.enqueue(bad),
  ];
  const worker = queue.worker({ pollInterval: 10, tasks: [ok, bad] });
  await worker.start();
  try {
    for (const id of ids) await queue.waitForResult(id, { timeout: 20_000 });
  } finally {
    await worker.stop();
  }
}

test(
  "the text parses, and counters and the histogram count this process's attempts",
  async () => {
    const queue = newQueue();
    await runSome(queue, "m1");
    const text = await prometheusMetrics(queue);
    const families = parseExposition(text);
    for (const name of ["sitq_tasks", "sitq_tasks_by_name", "sitq_workers"]) {
      expect(families.get(name)?.type).toBe("gauge");
    }
    for (
      const name of [
        "sitq_task_completions_total",
        "sitq_task_failures_total",
        "sitq_task_retries_total",
      ]
    ) {
      expect(families.get(name)?.type).toBe("counter");
    }
    expect(families.get("sitq_attempt_duration_seconds")?.type).toBe(
      "histogram",
    );
    const ok = { task: "m1_ok", queue: "default" };
    const bad = { task: "m1_bad", queue: "default" };
    expect(sampleValue(families, "sitq_task_completions_total", ok)).toBe(3);
    expect(sampleValue(families, "sitq_task_failures_total", ok)).toBe(0);
    expect(sampleValue(families, "sitq_task_failures_total", bad)).toBe(1);
    expect(sampleValue(families, "sitq_task_retries_total", bad)).toBe(1);
    expect(sampleValue(families, "sitq_attempt_duration_seconds_count", ok))
      .toBe(3);
    expect(sampleValue(families, "sitq_attempt_duration_seconds_count", bad))
      .toBe(2);
    // The 30 ms attempt is above the 25 ms bucket's bound; all are under 10 s.
    expect(
      sampleValue(families, "sitq_attempt_duration_seconds_bucket", {
        ...ok,
        le: "0.025",
      }),
    )
      .toBeLessThan(3);
    expect(
      sampleValue(families, "sitq_attempt_duration_seconds_bucket", {
        ...ok,
        le: "10",
      }),
    ).toBe(3);
    expect(sampleValue(families, "sitq_attempt_duration_seconds_sum", ok))
      .toBeGreaterThanOrEqual(0.03);
    // From the database.
    expect(
      sampleValue(families, "sitq_tasks", {
        queue: "default",
        status: "completed",
      }),
    ).toBe(3);
    expect(
      sampleValue(families, "sitq_tasks", {
        queue: "default",
        status: "failed",
      }),
    ).toBe(1);
    expect(
      sampleValue(families, "sitq_tasks_by_name", {
        task: "m1_ok",
        status: "completed",
      }),
    ).toBe(3);
    expect(sampleValue(families, "sitq_workers")).toBe(0);
    expect(PROMETHEUS_CONTENT_TYPE).toBe(
      "text/plain; version=0.0.4; charset=utf-8",
    );
  },
  30_000,
);

test(
  "counters carry the queue a run was claimed from, per-run queues included",
  async () => {
    const queue = newQueue();
    const job = queue.task("m4_job", (n: number) => n, { queue: "slow" });
    const ids = [
      await queue.enqueue(job, 1),
      await queue.enqueue(job.with({ queue: "fast" }), 2),
      await queue.enqueue(job.with({ queue: "fast" }), 3),
    ];
    const worker = queue.worker({ pollInterval: 10, tasks: [job] });
    worker.start();
    try {
      for (const id of ids) await queue.waitForResult(id, { timeout: 20_000 });
    } finally {
      await worker.stop();
    }
    const families = parseExposition(await prometheusMetrics(queue));
    const count = (lane: string) =>
      sampleValue(families, "sitq_task_completions_total", {
        task: "m4_job",
        queue: lane,
      });
    expect(count("fast")).toBe(2);
    expect(count("slow")).toBe(1);
  },
  30_000,
);

test(
  "queue gauges: counts, oldest queued age, paused, due; live workers",
  async () => {
    const clock = new ManualClock(Date.now());
    const queue = newQueue({ clock });
    const mail = queue.task("m2_mail", (to: string) => to, { queue: "mail" });
    await queue.enqueue(mail, "a@example.com");
    await queue.enqueue(mail, "b@example.com");
    clock.advance(90_000);
    await queue.queues.pause("mail");
    const families = parseExposition(await prometheusMetrics(queue));
    expect(
      sampleValue(families, "sitq_tasks", { queue: "mail", status: "queued" }),
    ).toBe(2);
    expect(
      sampleValue(families, "sitq_tasks", { queue: "mail", status: "running" }),
    ).toBe(0);
    expect(
      sampleValue(families, "sitq_queue_oldest_queued_age_seconds", {
        queue: "mail",
      }),
    )
      .toBeGreaterThanOrEqual(90);
    expect(sampleValue(families, "sitq_queue_paused", { queue: "mail" })).toBe(
      1,
    );
    expect(sampleValue(families, "sitq_queue_due_unclaimed", { queue: "mail" }))
      .toBe(2);
    // A live worker (in this process; any process counts) is in sitq_workers.
    const other = queue.task("m2_other", () => null);
    const worker = queue.worker({ tasks: [other] });
    await worker.start();
    try {
      await waitUntil(
        async () => (await queue.workers()).length === 1,
        "the worker registered",
      );
      const live = parseExposition(await prometheusMetrics(queue));
      expect(sampleValue(live, "sitq_workers")).toBe(1);
    } finally {
      await worker.stop();
    }
  },
  30_000,
);

test("label values are escaped: quotes and backslashes", async () => {
  const queue = newQueue();
  // (Names cannot hold newlines, the third character the format escapes.)
  const name = 'we"ird\\name';
  const task = queue.task(name, () => null);
  await queue.enqueue(task);
  const text = await prometheusMetrics(queue);
  expect(text).toContain('task="we\\"ird\\\\name"');
  const families = parseExposition(text);
  expect(
    sampleValue(families, "sitq_tasks_by_name", {
      task: name,
      status: "queued",
    }),
  ).toBe(1);
}, 30_000);

test("database: false reads nothing from the database", async () => {
  const queue = newQueue();
  await queue.close(); // a closed queue: any read would throw
  const families = parseExposition(
    await prometheusMetrics(queue, { database: false }),
  );
  expect(families.has("sitq_tasks")).toBe(false);
  expect(families.has("sitq_task_completions_total")).toBe(true);
}, 30_000);

await describePostgres("prometheusMetrics on PostgreSQL", (url) => {
  test("gauges and counters", async () => {
    const { queue } = postgresQueue(url);
    await runSome(queue, "m3");
    const families = parseExposition(await prometheusMetrics(queue));
    expect(
      sampleValue(families, "sitq_tasks", {
        queue: "default",
        status: "completed",
      }),
    ).toBe(3);
    expect(
      sampleValue(families, "sitq_tasks_by_name", {
        task: "m3_bad",
        status: "failed",
      }),
    ).toBe(1);
    expect(
      sampleValue(families, "sitq_task_completions_total", {
        task: "m3_ok",
        queue: "default",
      }),
    )
      .toBe(3);
  }, 60_000);
});
