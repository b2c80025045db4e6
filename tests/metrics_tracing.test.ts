/**
 * OpenTelemetry spans per attempt, with the real `@opentelemetry/api` and
 * the SDK's in-memory exporter: one span per attempt with the task's name,
 * id, attempt and queue; status OK on completion, ERROR with the exception
 * on failure; the active span while the handler runs (a span the handler
 * starts is its child).
 */
import { afterAll, expect, test } from "bun:test";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { cleanup, newQueue } from "./helpers.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

afterAll(async () => {
  await cleanup();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

test(
  "one span per attempt, with attributes, status and the handler inside it",
  async () => {
    const queue = newQueue();
    const ok = queue.task("t_ok", async () => {
      const active = trace.getActiveSpan()?.spanContext().spanId;
      await new Promise((resolve) => setTimeout(resolve, 5));
      trace.getTracer("app").startSpan("child work").end();
      return active;
    }, { queue: "traced" });
    const bad = queue.task("t_bad", () => {
      throw new TypeError("bad input");
    }, { maxAttempts: 2, backoff: { type: "fixed", delay: 0 } });
    const okId = await queue.enqueue(ok);
    const badId = await queue.enqueue(bad);
    const worker = queue.worker({ pollInterval: 10 });
    await worker.start();
    let activeSpanId: unknown;
    try {
      const result = await queue.waitForResult(okId, { timeout: 10_000 });
      expect(result.status).toBe("completed");
      activeSpanId = result.status === "completed" ? result.value : undefined;
      expect((await queue.waitForResult(badId, { timeout: 10_000 })).status)
        .toBe("failed");
    } finally {
      await worker.stop();
    }
    const spans = exporter.getFinishedSpans();
    const okSpans = spans.filter((s) => s.name === "sitq t_ok");
    expect(okSpans).toHaveLength(1);
    const okSpan = okSpans[0]!;
    expect(okSpan.attributes).toMatchObject({
      "sitq.task.name": "t_ok",
      "sitq.task.id": okId,
      "sitq.task.attempt": 1,
      "sitq.queue": "traced",
      "sitq.outcome": "completed",
      "messaging.system": "sitq",
    });
    expect(okSpan.status.code).toBe(1); // OK
    // The handler ran with the attempt's span active; its own span is a child.
    expect(activeSpanId).toBe(okSpan.spanContext().spanId);
    const child = spans.find((s) => s.name === "child work");
    expect(child?.parentSpanContext?.spanId).toBe(okSpan.spanContext().spanId);

    const badSpans = spans.filter((s) => s.name === "sitq t_bad")
      .sort((a, b) =>
        Number(a.attributes["sitq.task.attempt"]) -
        Number(b.attributes["sitq.task.attempt"])
      );
    expect(
      badSpans.map((
        s,
      ) => [s.attributes["sitq.task.attempt"], s.attributes["sitq.outcome"]]),
    )
      .toEqual([[1, "retried"], [2, "failed"]]);
    for (const span of badSpans) {
      expect(span.attributes["sitq.task.id"]).toBe(badId);
      expect(span.attributes["sitq.queue"]).toBe("default");
      expect(span.status).toEqual({ code: 2, message: "bad input" }); // ERROR
      const exception = span.events.find((e) => e.name === "exception");
      expect(exception?.attributes?.["exception.type"]).toBe("TypeError");
      expect(exception?.attributes?.["exception.message"]).toBe("bad input");
    }
  },
  30_000,
);

test(
  "without an SDK, attempts make no span active (the no-op tracer's spans are dropped)",
  async () => {
    expect(await runFixture("otel_no_sdk.ts")).toEqual({
      status: "completed",
      value: null,
      attempts: 1,
    });
  },
  30_000,
);

test(
  "with nothing registered the API is not loaded; an SDK registered later traces the attempts after it",
  async () => {
    const seen = await runFixture("otel_unregistered.ts") as {
      loadedBefore: boolean;
      loadedAfterFirstTask: boolean;
      tasksUntilSpan: number;
    };
    expect(seen.loadedBefore).toBe(false);
    expect(seen.loadedAfterFirstTask).toBe(false);
    // The attempt that finds the registration starts the API's import and
    // may run without a span; the next one has one.
    expect(seen.tasksUntilSpan).toBeGreaterThanOrEqual(1);
    expect(seen.tasksUntilSpan).toBeLessThanOrEqual(2);
  },
  30_000,
);

/** Runs a fixture in its own process; returns what it printed, parsed. */
async function runFixture(name: string): Promise<unknown> {
  const child = Bun.spawn(
    [process.execPath, new URL(`./fixtures/${name}`, import.meta.url).pathname],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  return JSON.parse(out);
}
