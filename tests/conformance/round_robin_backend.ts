/**
 * One {@linkcode Backend} face over several backend objects on one store:
 * each call goes to the next of them in turn. Running the whole suite
 * through it checks that no guarantee rests on state kept in one backend
 * object (a cached statement, a counter, an in-process lock): the claim, the
 * settlement fencing it and the read that checks it each come through
 * another connection.
 *
 * Subscribers hear every one of the backends, since a change made through
 * one reaches the others as `external`; a `notice` only once.
 *
 * @module
 */
import type {
  Backend,
  BackendChange,
  InsertOptions,
  NewTaskRow,
} from "../../lib/storage/backend.ts";

/** Spreads calls over `backends` in turn; see the module doc. */
export function roundRobinBackend(backends: readonly Backend[]): Backend {
  let turn = 0;
  const next = (): Backend => backends[turn++ % backends.length]!;
  return {
    description: `${backends.length} backends on one store, in turn (${
      backends[0]?.description
    })`,
    open: async () => {
      for (const backend of backends) await backend.open();
    },
    // Both overloads: the options (a transaction, outcomes) pass through.
    insertTasks:
      ((tasks: readonly NewTaskRow[], options?: InsertOptions) =>
        next().insertTasks(
          tasks,
          options as InsertOptions & { outcomes: true },
        )) as Backend["insertTasks"],
    insertGraph: (tasks, options) => next().insertGraph(tasks, options),
    getParents: (id) => next().getParents(id),
    settleAndClaim: (settlements, request) =>
      next().settleAndClaim(settlements, request),
    renewLeases: (tokens, leaseExpiresAt) =>
      next().renewLeases(tokens, leaseExpiresAt),
    recoverExpiredLeases: (now, error) =>
      next().recoverExpiredLeases(now, error),
    saveProgress: (token, progress) => next().saveProgress(token, progress),
    getTask: (id) => next().getTask(id),
    getAttempts: (id) => next().getAttempts(id),
    listTasks: (query) => next().listTasks(query),
    countByStatus: () => next().countByStatus(),
    countByName: () => next().countByName(),
    countDueExcept: (query) => next().countDueExcept(query),
    registerWorker: (worker) => next().registerWorker(worker),
    heartbeatWorker: (workerId, now) => next().heartbeatWorker(workerId, now),
    removeWorker: (workerId) => next().removeWorker(workerId),
    listWorkers: (now, staleAfter) => next().listWorkers(now, staleAfter),
    saveSchedule: (schedule) => next().saveSchedule(schedule),
    listSchedules: () => next().listSchedules(),
    getSchedule: (name) => next().getSchedule(name),
    pauseSchedule: (name, paused, nextRunAt, now) =>
      next().pauseSchedule(name, paused, nextRunAt, now),
    removeSchedule: (name) => next().removeSchedule(name),
    fireSchedule: (firing) => next().fireSchedule(firing),
    cancel: (id, now) => next().cancel(id, now),
    requeue: (id, now) => next().requeue(id, now),
    prune: (statuses, before) => next().prune(statuses, before),
    updateQueue: (name, change, now) => next().updateQueue(name, change, now),
    listQueues: (now, name) => next().listQueues(now, name),
    cancelTasks: (filter, now) => next().cancelTasks(filter, now),
    requeueTasks: (filter, now) => next().requeueTasks(filter, now),
    deleteTasks: (filter) => next().deleteTasks(filter),
    cancelledAmong: (ids) => next().cancelledAmong(ids),
    registerSubscriber: (row) => next().registerSubscriber(row),
    heartbeatSubscriber: (beat) => next().heartbeatSubscriber(beat),
    removeSubscriber: (id, now) => next().removeSubscriber(id, now),
    readEvents: (cursor, limit) => next().readEvents(cursor, limit),
    subscribe(listener: (change: BackendChange) => void) {
      // One face, one notice at most, as the contract promises per backend.
      let noticed = false;
      const forward = (change: BackendChange) => {
        if (change.type === "notice") {
          if (noticed) return;
          noticed = true;
        }
        listener(change);
      };
      const stops = backends.map((backend) => backend.subscribe(forward));
      return () => {
        for (const stop of stops) stop();
      };
    },
    close: async () => {
      for (const backend of backends) await backend.close();
    },
  };
}
