/**
 * `sitq/backend`: the storage contract under `TaskQueue` and `Worker`, for
 * people who implement a backend or test against one.
 *
 * **Stability.** These types are for implementers and tests; they may
 * change in minor versions. The rows are storage-shaped (serialized text,
 * times in epoch milliseconds, columns named as the tables name them) and
 * follow the schema, so a new column changes them. Application code should
 * use `sitq` itself (`TaskQueue`, `Worker`, `SQLiteBackend`), whose types
 * are the stable ones. The SQL implementation behind `SQLiteBackend` is not
 * exported: nothing outside sitq constructs it.
 *
 * **The contract.** An implementation of {@linkcode Backend} must meet all
 * of the following; `SQLiteBackend` does, and sitq's backend conformance
 * suite checks it.
 * - *Lifecycle.* Every method opens the store first if needed; `open()` may
 *   be called any number of times, and a failed open is tried again by the
 *   next call. `close()` is idempotent; afterwards every call rejects with
 *   `DatabaseError` code `CLOSED`. Storage failures reject with a
 *   `DatabaseError` whose `code` says what happened.
 * - *Atomic claims.* A queued task is handed to one claimer per attempt,
 *   across connections and processes. A claim moves the task to `running`
 *   with the claimer's `workerId`, a lease expiring `leaseDuration` ms after
 *   `now`, and its attempt count raised by one, which is the claimed
 *   attempt's number.
 * - *Ordering.* A claim takes due tasks (run time at or before `now`) whose
 *   name it asks for, higher priority first, then earlier run time, then
 *   enqueue order (increasing id), and returns them in that order.
 * - *Fencing.* Every write about a running attempt (a {@linkcode Settlement},
 *   a lease renewal, progress) carries its {@linkcode FencingToken} and
 *   applies only while the task is still `running` under that worker and
 *   that attempt number; otherwise it changes nothing and says so (`applied`
 *   false, an id missing from the renewed set, `false`). Settling and then
 *   claiming in `settleAndClaim` is one atomic step.
 * - *At-least-once delivery.* A running task whose lease expired is made
 *   claimable again (or `failed`, after its last attempt) by
 *   `recoverExpiredLeases`, and the lost attempt counts and is recorded. A
 *   task that reached `completed`, `failed` or `cancelled` is never claimed
 *   again unless `requeue` puts it back. A write that resolved is committed;
 *   only claim-only transactions, lease renewals and progress may skip the
 *   sync that makes a commit survive power loss, since losing one only makes
 *   a task claimable again.
 * - *Unique keys.* A row with a `uniqueKey` creates a task only while no
 *   task of its name holds that key: a waiting, queued or running task, or
 *   a completed one within its `uniqueFor` window (measured against the
 *   row's `createdAt`). Otherwise it keeps the holder, rewrites a waiting
 *   or queued holder's run (`onDuplicate: "replace"`, attempts and last
 *   error reset), or rejects the whole batch with `DuplicateKeyError`
 *   (`"error"`); the id returned for the row (or its `InsertOutcome`,
 *   with `outcomes: true`) is the holder's. This must hold across
 *   connections and processes by the store's own means (sitq's SQL
 *   backends: a partial unique index), never by reading first and
 *   inserting after. Rows of one batch apply in order. `requeue` does not
 *   give a task back a key another task holds (`heldBy`).
 * - *Dependencies.* `insertGraph` stores tasks and the edges between them
 *   in one transaction, refusing a cycle, a self-dependency or an unknown
 *   parent id with `WorkflowError` and nothing written. A task with an
 *   unmet edge is `waiting`; it becomes `queued` in the transaction that
 *   settles its last parent (completed, or failed or cancelled on an edge
 *   that runs anyway), exactly once, also when parents settle concurrently
 *   on several connections. A parent that fails for good (a settlement, a
 *   lost lease) or is cancelled cancels its waiting children on other
 *   edges, transitively, recording itself (`cancelled_by`) and the reason
 *   (`error`); `requeue` of it brings them back as `waiting`.
 * - *Named queues* (schema v8). Every task has a queue (`NewTaskRow.queue`,
 *   default `"default"`); a claim with `queues` takes only those. A claim
 *   never takes a task of a paused queue (`updateQueue`), from the commit
 *   of the pause on. A queue's `concurrency` (running tasks of it) and rate
 *   limit (starts within any `intervalMs` window) are counted inside the
 *   claim's transaction and never passed, across connections and
 *   processes; after a short claim held back by a full rate window,
 *   `nextRunAt` is no later than the window's end.
 * - *Schedules* (schema v10). `saveSchedule` keeps one row per name and
 *   changes nothing for a definition already stored; `fireSchedule`
 *   advances a schedule's slot only from the slot and revision it was
 *   computed from (compare-and-set) and inserts the slot's tasks in the
 *   same transaction, so of two firings computed from one read, one wins
 *   and the other writes nothing.
 * - *Cancels and bulk operations* (schema v9 era). `cancel` and
 *   `cancelTasks` take running tasks too: the task ends `cancelled` with its
 *   lease cleared in the same write, so its worker's token no longer holds
 *   (renewals, progress and settlements are refused) and it is never
 *   claimed again; `cancelledAmong` tells a worker which of its tasks were
 *   cancelled. `cancelTasks`, `requeueTasks` and `deleteTasks` act on what
 *   a `TaskFilterQuery` selects in one transaction each.
 * - *Events* (schema v9). While a registered subscriber row is live
 *   (`registerSubscriber`, refreshed by `heartbeatSubscriber`), every task
 *   change writes its event in the same transaction, and none is written
 *   while no live row exists; `readEvents(cursor)` returns each committed
 *   event once across successive cursors, a task's events in order.
 * - *Changes.* `subscribe` delivers, synchronously after each commit made
 *   through this backend object, `enqueued` (after an insert, a requeue or a
 *   recovery, with the earliest run time) and `settled` (after settlements,
 *   a cancel or a recovery, with the ids), and `schedules` (after a
 *   schedule was saved, paused, resumed, removed or fired). It delivers `external` when it
 *   can tell that another connection committed, and at most one `notice`
 *   (`PUSH_UNAVAILABLE`) when it could push such wake-ups and cannot. A
 *   change is a hint to read again: one too many costs a query, one missing
 *   costs a poll interval. Errors thrown by listeners are ignored.
 *
 * @example A claim, a fenced settlement, and a stale one
 * ```ts
 * import { SQLiteBackend } from "sitq";
 * import type { Backend, Settlement } from "sitq/backend";
 *
 * const backend: Backend = new SQLiteBackend(":memory:");
 * const now = Date.now();
 * const [id] = await backend.insertTasks([{
 *   name: "email",
 *   args: "[]",
 *   priority: 0,
 *   runAt: now,
 *   maxAttempts: 3,
 *   timeout: null,
 *   createdAt: now,
 * }]);
 * const { claimed } = await backend.settleAndClaim([], {
 *   workerId: "worker-1",
 *   names: ["email"],
 *   limit: 10,
 *   now,
 *   leaseDuration: 30_000,
 * });
 * const token = { id: id!, workerId: "worker-1", attempt: claimed[0]!.attempt };
 * const done: Settlement = {
 *   ...token,
 *   outcome: "completed",
 *   result: "null",
 *   startedAt: now,
 *   finishedAt: Date.now(),
 * };
 * const first = await backend.settleAndClaim([done], undefined);
 * const again = await backend.settleAndClaim([done], undefined);
 * console.log(first.applied, again.applied); // [ true ] [ false ]
 * await backend.close();
 * ```
 *
 * @module
 */
export type * from "./lib/storage/backend.ts";
