/**
 * Queue settings and counts (schema v8): the writes and reads behind
 * `queue.queues` (`lib/queue/queue_control.ts`). The claim's own use of
 * the settings is in `claim_tasks.ts` and `queue_claims.ts`.
 *
 * - {@linkcode updateQueue}: creates the queue's `sitq_queues` row with
 *   defaults (not paused, no limits) or changes the fields given; removing
 *   the rate limit deletes the queue's recorded starts.
 * - {@linkcode listQueues}: every queue that has tasks or a settings row,
 *   with its counts per status, its due queued tasks and the earliest run
 *   time among them. Reads every task's queue and status (a grouped scan):
 *   for dashboards and checks, not hot paths.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { TaskStatus } from "../../core/types.ts";
import type { QueueRow, QueueSettingsChange } from "../backend.ts";
import { QUEUED, type SitqSchema } from "../schema.ts";
import type { QueuesTable } from "../queues_schema.ts";

/** Writes `change` into queue `name`'s settings row, creating it. */
export async function updateQueue(
  db: Kysely<SitqSchema>,
  name: string,
  change: QueueSettingsChange,
  now: number,
): Promise<void> {
  const set: Partial<QueuesTable> = { updated_at: now };
  if (change.paused !== undefined) set.paused = change.paused ? 1 : 0;
  if (change.concurrency !== undefined) set.concurrency = change.concurrency;
  if (change.rateLimit !== undefined) {
    set.rate_limit = change.rateLimit?.limit ?? null;
    set.rate_interval_ms = change.rateLimit?.intervalMs ?? null;
  }
  await db.insertInto("sitq_queues")
    .values({
      name,
      paused: set.paused ?? 0,
      concurrency: set.concurrency ?? null,
      rate_limit: set.rate_limit ?? null,
      rate_interval_ms: set.rate_interval_ms ?? null,
      updated_at: now,
    })
    .onConflict((c) => c.column("name").doUpdateSet(set))
    .execute();
  if (change.rateLimit === null) {
    await db.deleteFrom("sitq_queue_starts").where("queue", "=", name)
      .execute();
  }
}

/** Every queue with tasks or settings (only `name`, when given), by name. */
export async function listQueues(
  db: Kysely<SitqSchema>,
  now: number,
  name?: string,
): Promise<QueueRow[]> {
  let settings = db.selectFrom("sitq_queues").selectAll();
  let counts = db.selectFrom("sitq_tasks")
    .select((eb) => ["queue", "status", eb.fn.countAll<number>().as("n")])
    .groupBy(["queue", "status"]);
  let due = db.selectFrom("sitq_tasks")
    .select((eb) => [
      "queue",
      eb.fn.countAll<number>().as("n"),
      eb.fn.min<number>("run_at").as("oldest"),
    ])
    .where("status", "=", QUEUED)
    .where("run_at", "<=", now)
    .groupBy("queue");
  if (name !== undefined) {
    settings = settings.where("name", "=", name);
    counts = counts.where("queue", "=", name);
    due = due.where("queue", "=", name);
  }
  const queues = new Map<string, QueueRow>();
  const queueOf = (queue: string): QueueRow => {
    let row = queues.get(queue);
    if (row === undefined) {
      row = {
        name: queue,
        paused: false,
        concurrency: null,
        rateLimit: null,
        counts: {},
        oldestDueAt: null,
        dueUnclaimed: 0,
      };
      queues.set(queue, row);
    }
    return row;
  };
  for (const row of await settings.execute()) {
    const queue = queueOf(row.name);
    queue.paused = Number(row.paused) !== 0;
    queue.concurrency = row.concurrency === null
      ? null
      : Number(row.concurrency);
    queue.rateLimit = row.rate_limit === null ? null : {
      limit: Number(row.rate_limit),
      intervalMs: Number(row.rate_interval_ms),
    };
  }
  for (const row of await counts.execute()) {
    queueOf(row.queue).counts[row.status as TaskStatus] = Number(row.n);
  }
  for (const row of await due.execute()) {
    const queue = queueOf(row.queue);
    queue.dueUnclaimed = Number(row.n);
    queue.oldestDueAt = row.oldest === null ? null : Number(row.oldest);
  }
  return [...queues.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
}
