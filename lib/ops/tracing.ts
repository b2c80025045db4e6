/**
 * OpenTelemetry spans, one per attempt, through `@opentelemetry/api` as an
 * optional peer dependency. The API is looked up once per process, by a
 * dynamic import when the first worker starts ({@linkcode loadTracing}),
 * but only once something has registered with it: the API keeps what an
 * SDK or context manager registers on one global object, and until that
 * object exists its tracer is a no-op whose spans sitq would drop anyway.
 * Importing the package costs 15-40 ms of a worker's start on Node (it is
 * ~50 CommonJS modules), so a process that has it installed through some
 * dependency but never set OpenTelemetry up does not pay for it. Attempts
 * look for the global again (one property read) and start the import when
 * it appears: an SDK registered after a worker started gets spans from the
 * attempts that start once the import has finished.
 * Where it is not installed the lookup fails once and every attempt after
 * that costs one comparison. Where it is installed and only a context
 * manager is registered, the API's own no-op tracer makes spans that
 * record nothing.
 *
 * Each span is named `sitq <task name>` (kind CONSUMER) and carries
 * `sitq.task.name`, `sitq.task.id`, `sitq.task.attempt`, `sitq.queue`,
 * `sitq.outcome`, and the messaging conventions' `messaging.system`
 * (`"sitq"`), `messaging.operation.type` (`"process"`) and
 * `messaging.destination.name` (the queue). It is the active span while
 * the handler runs (spans the handler starts are its children; not for
 * handlers in worker threads, which run in another context). A failed or
 * timed-out attempt ends with status ERROR and the error recorded as an
 * exception event; a completed one with status OK.
 *
 * The shapes below are the part of the API used, declared here rather than
 * imported, so that sitq's types never need the package.
 *
 * @module
 */
import { importRuntimeModule } from "../runtime/runtime.ts";

/** What sitq calls on a span. */
export interface OtelSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(
    exception: { name: string; message: string; stack?: string },
  ): void;
  end(): void;
  isRecording(): boolean;
  spanContext(): unknown;
}

interface OtelTracer {
  startSpan(
    name: string,
    options: { kind: number; attributes: Record<string, string | number> },
  ): OtelSpan;
}

interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    setSpan(context: unknown, span: OtelSpan): unknown;
    isSpanContextValid(spanContext: unknown): boolean;
  };
  context: {
    active(): unknown;
    with<T>(context: unknown, fn: () => T): T;
  };
}

// Numeric values of the API's enums (stable since API 1.0).
const SPAN_KIND_CONSUMER = 4;
const STATUS_OK = 1;
const STATUS_ERROR = 2;

/** The API and sitq's tracer once loaded; null when the package is absent. */
let otel: { api: OtelApi; tracer: OtelTracer } | null | undefined;
let loading: Promise<void> | undefined;

/**
 * Where API 1.x keeps what is registered with it (`registerGlobal` in its
 * `internal/global-utils`): absent until an SDK, a context manager, a
 * propagator or a diagnostic logger is set.
 */
const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");

/** Whether anything has registered with OpenTelemetry's API in this process. */
function otelRegistered(): boolean {
  return (globalThis as Record<symbol, unknown>)[OTEL_GLOBAL] !== undefined;
}

/**
 * Looks `@opentelemetry/api` up once per process (later calls share the
 * first lookup). Never rejects: absent, tracing stays off.
 */
export function loadTracing(): Promise<void> {
  loading ??= importRuntimeModule("@opentelemetry/api").then(
    (namespace) => {
      const module = namespace as Partial<OtelApi> & { default?: OtelApi };
      const api = module.trace !== undefined
        ? module as OtelApi
        : module.default;
      otel = api?.trace === undefined
        ? null
        : { api, tracer: api.trace.getTracer("sitq") };
    },
    () => {
      otel = null;
    },
  );
  return loading;
}

/**
 * {@linkcode loadTracing}'s promise while the lookup has not finished (the
 * first worker start awaits it), undefined once it has, or while nothing
 * has registered with the API: later starts do not even yield.
 */
export function tracingLookup(): Promise<void> | undefined {
  return otel === undefined && otelRegistered() ? loadTracing() : undefined;
}

/**
 * Whether spans are being made (the API was found). Until the lookup has
 * run, starts it once something registers with the API, and answers false
 * until it has finished.
 */
export function tracingEnabled(): boolean {
  if (otel === undefined) {
    if (loading === undefined && otelRegistered()) void loadTracing();
    return false;
  }
  return otel !== null;
}

/** The attempt a span is about. */
export interface SpanTask {
  id: number;
  name: string;
  attempt: number;
  queue: string;
}

/**
 * Starts an attempt's span, or returns undefined when tracing is off, or
 * when no SDK is registered and no trace is active: the API's no-op tracer
 * then hands back a span with an invalid context, which would only cost a
 * context switch per attempt. A span an SDK sampled out still has a valid
 * context and is kept, so the handler's own spans follow its decision.
 */
export function startAttemptSpan(task: SpanTask): OtelSpan | undefined {
  if (otel === null || otel === undefined) return undefined;
  const span = otel.tracer.startSpan(`sitq ${task.name}`, {
    kind: SPAN_KIND_CONSUMER,
    attributes: {
      "sitq.task.name": task.name,
      "sitq.task.id": task.id,
      "sitq.task.attempt": task.attempt,
      "sitq.queue": task.queue,
      "messaging.system": "sitq",
      "messaging.operation.type": "process",
      "messaging.destination.name": task.queue,
    },
  });
  if (
    !span.isRecording() &&
    !otel.api.trace.isSpanContextValid(span.spanContext())
  ) {
    span.end();
    return undefined;
  }
  return span;
}

/** Runs `fn` with `span` as the active span (just `fn()` without one). */
export function runInSpan<T>(span: OtelSpan | undefined, fn: () => T): T {
  if (span === undefined || otel === null || otel === undefined) return fn();
  const { api } = otel;
  return api.context.with(api.trace.setSpan(api.context.active(), span), fn);
}

/** How an attempt ended, for its span. */
export type SpanOutcome =
  | "completed"
  | "failed"
  | "retried"
  | "timed_out"
  | "interrupted"
  | "lost";

/**
 * Ends an attempt's span: status OK when completed, ERROR with the error
 * recorded when it failed or timed out (retried or not), unset otherwise
 * (interrupted by a stop, lease lost or cancelled: the attempt did not
 * fail, it was taken away).
 */
export function endAttemptSpan(
  span: OtelSpan,
  outcome: SpanOutcome,
  error?: { name: string; message: string; stack?: string },
): void {
  span.setAttribute("sitq.outcome", outcome);
  if (outcome === "completed") span.setStatus({ code: STATUS_OK });
  else if (
    outcome === "failed" || outcome === "retried" || outcome === "timed_out"
  ) {
    if (error !== undefined) span.recordException(error);
    span.setStatus({
      code: STATUS_ERROR,
      ...(error === undefined ? {} : { message: error.message }),
    });
  }
  span.end();
}
