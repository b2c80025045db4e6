/**
 * The worker's one hook for metrics and traces: the executor calls
 * {@linkcode attemptStarted} when it starts an attempt, runs the handler
 * through {@linkcode runAttempt}, and calls {@linkcode attemptDecided}
 * once the attempt's outcome is decided. Each attempt's span is kept in a
 * WeakMap here, so the executor's own shapes do not change; with tracing
 * off (no `@opentelemetry/api`) a start is one comparison and a decision
 * one counter update.
 *
 * @module
 */
import type { Attempt, Outcome } from "../worker/executor.ts";
import { type AttemptKind, recordAttempt } from "./metrics.ts";
import {
  endAttemptSpan,
  type OtelSpan,
  runInSpan,
  type SpanOutcome,
  startAttemptSpan,
  tracingEnabled,
} from "./tracing.ts";

export { loadTracing, tracingLookup } from "./tracing.ts";

const spans = new WeakMap<Attempt, OtelSpan>();

/** An attempt has started: opens its span when tracing is on. */
export function attemptStarted(attempt: Attempt): void {
  if (!tracingEnabled()) return;
  const { claimed } = attempt;
  const span = startAttemptSpan({
    id: claimed.id,
    name: claimed.name,
    attempt: claimed.attempt,
    queue: attempt.claimed.queue,
  });
  if (span !== undefined) spans.set(attempt, span);
}

/** Runs the handler of `attempt` inside its span (as is without one). */
export function runAttempt<T>(attempt: Attempt, handler: () => T): T {
  return runInSpan(spans.get(attempt), handler);
}

/**
 * An attempt's outcome is decided (`undefined`: dropped, its lease lost or
 * the task cancelled): counts it and ends its span.
 */
export function attemptDecided(
  attempt: Attempt,
  outcome: Outcome | undefined,
  value: unknown,
): void {
  let kind: AttemptKind;
  let spanOutcome: SpanOutcome;
  if (outcome === undefined) kind = spanOutcome = "lost";
  else if (outcome.outcome === "completed") kind = spanOutcome = "completed";
  else if (outcome.outcome === "interrupted") {
    kind = spanOutcome = "interrupted";
  } else {
    kind = outcome.retryAt === null ? "failed" : "retried";
    spanOutcome = outcome.outcome === "timed_out" ? "timed_out" : kind;
  }
  recordAttempt(
    attempt.claimed.name,
    attempt.claimed.queue,
    kind,
    performance.now() - attempt.startedMono,
  );
  const span = spans.get(attempt);
  if (span === undefined) return;
  spans.delete(attempt);
  endAttemptSpan(
    span,
    spanOutcome,
    value instanceof Error
      ? {
        name: value.name,
        message: value.message,
        ...(value.stack === undefined ? {} : { stack: value.stack }),
      }
      : undefined,
  );
}
