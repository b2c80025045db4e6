/**
 * sitq: a persistent task queue in one SQLite file, for Bun, Deno and Node.
 *
 * Define named, typed tasks; enqueue them with arguments; run workers in the
 * same process or in others. Workers claim tasks atomically, run them with
 * bounded concurrency under renewed leases, retry with backoff, time out, and
 * stop gracefully. Nothing is lost or run twice at once.
 *
 * @example The whole job
 * ```ts
 * import { SQLiteBackend, TaskQueue, Worker } from "sitq";
 *
 * const backend = new SQLiteBackend(":memory:"); // or "tasks.db"
 * const queue = new TaskQueue(backend);
 *
 * const resize = queue.task("resize", async (path: string, width: number) => {
 *   return { path, width };
 * });
 *
 * const id = await queue.enqueue(resize, "cat.png", 200);
 * const worker = new Worker(backend, { tasks: [resize], concurrency: 4 });
 * await worker.start();
 * const result = await queue.waitForResult(id, { timeout: 5000 });
 * console.log(result); // { status: "completed", value: { path: "cat.png", width: 200 }, attempts: 1 }
 * await worker.stop();
 * await queue.close();
 * ```
 *
 * @module
 */
export { TaskQueue } from "./lib/queue/task_queue.ts";
export { QueueAdmin } from "./lib/queue/queue_admin.ts";
// QueueAdmin's base classes, for its docs (its methods are written there).
export type { QueueManager } from "./lib/queue/queue_manager.ts";
export type { QueueReader } from "./lib/queue/queue_reader.ts";
// TaskQueue's base class, for its docs (enqueueing is written there).
export type { TaskEnqueuer } from "./lib/queue/task_enqueuer.ts";
export { ScheduleControl } from "./lib/queue/schedule_control.ts";
export { QueueControl } from "./lib/queue/queue_control.ts";
export type {
  QueueInfo,
  QueueLimits,
  QueueRateLimit,
} from "./lib/queue/queue_control.ts";
export type {
  CatchUp,
  ScheduleInfo,
  ScheduleOptions,
} from "./lib/schedule/options.ts";
export { InvalidCronError } from "./lib/schedule/recurrence.ts";
export type {
  ListTasksOptions,
  PruneOptions,
  TaskQueueOptions,
} from "./lib/queue/options.ts";
export type { WaitOptions } from "./lib/queue/result_watcher.ts";
export type { TaskFilter } from "./lib/queue/task_filter.ts";
export type { SubscribeOptions, Subscription } from "./lib/queue/subscribe.ts";
export { TASK_EVENT_TYPES } from "./lib/core/task_events.ts";
export type { TaskEvent, TaskEventType } from "./lib/core/task_events.ts";
export type { TaskPage } from "./lib/queue/results.ts";
export type {
  EnqueueManyOptions,
  UniqueEnqueueResult,
} from "./lib/queue/unique.ts";
export type { OnDuplicate } from "./lib/core/unique_keys.ts";
export type { TransactionalQueue } from "./lib/queue/in_transaction.ts";
export { Workflow } from "./lib/queue/workflow.ts";
export type {
  Dependency,
  EnqueuedWorkflow,
  StepOptions,
  WorkflowStep,
} from "./lib/queue/workflow.ts";
export { WorkflowError } from "./lib/core/workflow.ts";
export type { WorkflowErrorReason } from "./lib/core/workflow.ts";
export type { DatabaseTransaction } from "./lib/core/transaction.ts";
export { Worker } from "./lib/worker/worker.ts";
export type {
  AnyTask,
  StopOptions,
  StopReason,
  TaskEventBase,
  WorkerEvents,
  WorkerOptions,
  WorkerRunOptions,
  WorkerStats,
} from "./lib/worker/types.ts";
export { threadModule } from "./lib/worker/threads/thread_handler.ts";
export type {
  HandlerArgs,
  HandlerExportName,
  HandlerResult,
  ThreadHandler,
  ThreadHandlerSource,
  ThreadModule,
} from "./lib/worker/threads/thread_handler.ts";
export type {
  ThreadPoolOptions,
  ThreadResourceLimits,
} from "./lib/worker/threads/options.ts";
export { ThreadError } from "./lib/worker/threads/thread_error.ts";
export type { ThreadErrorCode } from "./lib/worker/threads/thread_error.ts";
export type {
  ParentResult,
  RunOptions,
  Task,
  TaskContext,
  TaskHandler,
  TaskOptions,
} from "./lib/core/task.ts";
export { declareTask } from "./lib/core/declaration.ts";
export type { BindOptions, TaskDeclaration } from "./lib/core/declaration.ts";
export type { Backoff } from "./lib/core/retry_policy.ts";
export { SuperJsonSerializer } from "./lib/core/serializer.ts";
export type { Serializer } from "./lib/core/serializer.ts";
export {
  CancelledError,
  DatabaseError,
  DeclarationConflictError,
  DuplicateKeyError,
  DuplicateTaskError,
  InterruptedError,
  InvalidStateError,
  LeaseLostError,
  PermanentError,
  SerializationError,
  SitqError,
  TaskNotFoundError,
  TaskTimeoutError,
  UnknownTaskError,
  WaitTimeoutError,
} from "./lib/core/errors.ts";
export type { DatabaseErrorCode, SitqErrorCode } from "./lib/core/errors.ts";
export { coerceError } from "./lib/core/coerce_error.ts";
export type { LogData, Logger, LogMethod } from "./lib/core/logger.ts";
export type { Unsubscribe } from "./lib/core/events.ts";
export { TASK_STATUSES } from "./lib/core/statuses.ts";
export type {
  AttemptOutcome,
  AttemptRecord,
  Clock,
  FinalStatus,
  FinalTaskResult,
  QueueStats,
  ResultOf,
  StoredError,
  TaskId,
  TaskRecord,
  TaskResult,
  TaskStatus,
} from "./lib/core/types.ts";
export type {
  UnhandledTaskCount,
  WorkerInfo,
  WorkersOptions,
} from "./lib/queue/workers.ts";
export {
  DURATION_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  prometheusMetrics,
} from "./lib/ops/metrics.ts";
export type { MetricsOptions } from "./lib/ops/metrics.ts";
export { SQLiteBackend } from "./lib/storage/sqlite/sqlite_backend.ts";
export type { SQLiteBackendOptions } from "./lib/storage/sqlite/sqlite_backend.ts";
