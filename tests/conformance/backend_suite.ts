/**
 * The backend conformance suite: everything an implementation of `Backend`
 * (lib/storage/backend.ts) must guarantee, checked by driving that interface
 * directly, plus the public API where a guarantee is about it. One file per
 * noun:
 *
 * - insert.ts: ids in enqueue order, one transaction per batch, queue order;
 * - claims.ts: what a claim takes and writes; racing claimers, on one object
 *   and on several connections;
 * - claim_processes.ts: racing claimers in several processes;
 * - fencing.ts: late or stale settlements, renewals and progress change
 *   nothing;
 * - leases.ts: leases, heartbeats and recovery of expired leases;
 * - settlements.ts: results, retries with backoff, final failures, history;
 * - interruptions.ts: interrupted attempts go back at once, uncounted;
 * - management.ts: cancel, requeue, prune;
 * - cancel_running.ts: cancelling running tasks (fencing, CancelledError in
 *   the worker, across processes); bulk.ts: bulk cancel, requeue and delete
 *   by filter; events.ts: task events and `subscribe()` (registry rows,
 *   every write path, filters, close, a subscriber in a third process);
 * - progress.ts: progress of the running attempt;
 * - inspection.ts: reads, lists and counts;
 * - wake_ups.ts: what subscribers hear, from this and other connections;
 * - payloads.ts: large and non-ASCII text;
 * - lifecycle.ts: open, close, connections;
 * - schema.sqlite.ts: schema versions, SQLite only (a test that makes sense
 *   for one backend carries its name);
 * - schema.postgres.ts: schema versions, 64-bit columns, migration by many
 *   processes at once and the schema option, PostgreSQL only;
 * - unique_keys.ts: unique keys through the Backend (who holds a key, the
 *   modes, batches, requeue and prune); unique_keys_queue.ts: through the
 *   queue and in transactions, concurrent ones included;
 *   unique_processes.ts: processes racing for one key; unique_schema.ts:
 *   the upgrade of a version 3 store.
 * - workflows.ts: dependencies between tasks (release on the last parent,
 *   concurrent parents, refused graphs, cancel cascades, run anyway,
 *   requeue, parent results through a Worker, a 10,000-wide fan).
 * - workers.ts: the registry of running workers (rows, heartbeats, stale
 *   rows), `queue.workers()` and `queue.unhandledTasks()`, and a killed
 *   worker process whose names become unhandled.
 * - queues.ts: named queues (a task's queue, workers' queues, pause and
 *   resume, global concurrency and rate limits counted in the claim, also
 *   on racing connections, listing, the upgrade of a version 7 store);
 *   queue_processes.ts, run by tests/queues_processes.test.ts: limits and
 *   pauses across worker processes.
 * - schedules.ts: recurring schedules (set by name and idempotent, typed
 *   errors, one firing per slot, catch-up, pause, resume, remove, the
 *   upgrade of a version 9 store); schedule_processes.ts, run by
 *   tests/schedules_processes.test.ts: processes declaring one schedule.
 *
 * Around them: harness.ts (the suite's own test API and its adapters'
 * contract), rows.ts (what tests send) and calls.ts (the calls they make).
 *
 * It runs on SQLite (a file, `:memory:`, three backends on one file; see
 * sqlite_factories.ts) and on PostgreSQL (a schema per test, one backend or
 * three; see postgres_factories.ts) on Bun in-process (sqlite.test.ts,
 * postgres.test.ts) and, as a script, on Deno and Node (runner.ts, spawned
 * by runtimes.test.ts). Another backend
 * joins by adding a {@linkcode BackendFactory}, a case for its
 * {@linkcode StoreSpec} in tests/fixtures/conformance_claimer.mjs, and a
 * `*.<name>.ts` file for its own tests. The suite files import only
 * lib/storage/backend.ts (types) and receive sitq's public entry from their
 * adapter, so they run the same on the sources and on the built package.
 *
 * @module
 */
import type {
  BackendFactory,
  ConformanceTest,
  StoreSpec,
  Suite,
} from "./harness.ts";
import { collectTests } from "./harness.ts";
import { claimProcessTests } from "./claim_processes.ts";
import { claimTests } from "./claims.ts";
import { fencingTests } from "./fencing.ts";
import { insertTests } from "./insert.ts";
import { inspectionTests } from "./inspection.ts";
import { interruptionTests } from "./interruptions.ts";
import { leaseTests } from "./leases.ts";
import { lifecycleTests } from "./lifecycle.ts";
import { managementTests } from "./management.ts";
import { payloadTests } from "./payloads.ts";
import { progressTests } from "./progress.ts";
import { postgresSchemaTests } from "./schema.postgres.ts";
import { sqliteSchemaTests } from "./schema.sqlite.ts";
import { settlementTests } from "./settlements.ts";
import { uniqueKeyTests } from "./unique_keys.ts";
import { uniqueKeyQueueTests } from "./unique_keys_queue.ts";
import { uniqueProcessTests } from "./unique_processes.ts";
import { uniqueSchemaTests } from "./unique_schema.ts";
import { wakeUpTests } from "./wake_ups.ts";
import { workflowTests } from "./workflows.ts";
import { bulkTests } from "./bulk.ts";
import { cancelRunningTests } from "./cancel_running.ts";
import { eventTests } from "./events.ts";
import { workerRegistryTests } from "./workers.ts";
import { scheduleTests } from "./schedules.ts";
import { queueTests } from "./queues.ts";

export type { BackendFactory, StoreSpec };

/** Each noun's group title and the function that registers its tests. */
const NOUNS: ReadonlyArray<readonly [string, (suite: Suite) => void]> = [
  ["insert and ordering", insertTests],
  ["claims", claimTests],
  ["claims across processes", claimProcessTests],
  ["fencing", fencingTests],
  ["leases", leaseTests],
  ["settlements", settlementTests],
  ["interrupted attempts", interruptionTests],
  ["cancel, requeue and prune", managementTests],
  ["cancelling running tasks", cancelRunningTests],
  ["bulk operations by filter", bulkTests],
  ["task events", eventTests],
  ["progress", progressTests],
  ["inspection", inspectionTests],
  ["wake-ups", wakeUpTests],
  ["large and unicode payloads", payloadTests],
  ["lifecycle and connections", lifecycleTests],
  ["schema versions (SQLite)", sqliteSchemaTests],
  ["schema versions (PostgreSQL)", postgresSchemaTests],
  ["unique keys", uniqueKeyTests],
  ["unique keys through the queue", uniqueKeyQueueTests],
  ["unique keys across processes", uniqueProcessTests],
  ["unique keys: upgrade from schema version 3", uniqueSchemaTests],
  ["workflows", workflowTests],
  ["registry of running workers", workerRegistryTests],
  ["recurring schedules", scheduleTests],
  ["named queues", queueTests],
];

/** Every test of the suite for `factory`, in a stable order. */
export function backendSuite(factory: BackendFactory): ConformanceTest[] {
  return collectTests(factory, (suite) => {
    for (const [title, register] of NOUNS) {
      suite.describe(title, () => register(suite));
    }
  });
}
