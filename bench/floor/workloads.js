/**
 * The work a queue does, as hand-written SQL: the floor sitq is measured
 * against. Every function times only the work it names, returns what it
 * measured, and checks that the work really happened.
 *
 * @module
 */
import { cpuClock } from "../common/resources.js";
import { nowMs } from "../common/stats.js";
import {
  CLAIM_MANY_SQL,
  CLAIM_ONE_SQL,
  COMPLETE_SQL,
  INSERT_SQL,
} from "./schema.js";

/**
 * @typedef {object} Timed
 * @property {number} ops
 * @property {number} seconds
 * @property {number[]} [latencies] per operation (or per batch), in ms
 * @property {number} [cpu_us] CPU time (user + system) of the timed part, in µs
 */

const LEASE_MS = 30_000;
const OWNER = "floor-worker";
// What a no-op handler's serialized arguments and result look like.
const argsOf = (/** @type {number} */ i) => JSON.stringify([i]);
const RESULT = JSON.stringify(null);

/**
 * Inserts `n` tasks one at a time, each its own (autocommit) transaction, so
 * each pays a full commit, as `enqueue` does.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} n
 * @returns {Timed}
 */
export function enqueueOne(db, n) {
  const insert = db.prepare(INSERT_SQL);
  const latencies = new Array(n);
  const cpu = cpuClock();
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    const now = Date.now();
    insert.run("noop", argsOf(i), now, now);
    latencies[i] = nowMs() - t0;
  }
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  expectCount(db, "queued", n);
  return { ops: n, seconds, latencies, cpu_us: cpuUs };
}

/**
 * Inserts `n` tasks in one transaction with one prepared statement, as a
 * bulk `enqueueMany` can.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} n
 * @returns {Timed}
 */
export function enqueueBulk(db, n) {
  const cpu = cpuClock();
  const start = nowMs();
  insertMany(db, n);
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  expectCount(db, "queued", n);
  return { ops: n, seconds, cpu_us: cpuUs };
}

/**
 * Fills the queue without timing it: the set-up for a drain.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} n
 */
export function prefill(db, n) {
  insertMany(db, n);
}

/**
 * Drains the queue one task at a time: claim it in a `BEGIN IMMEDIATE`
 * transaction, run a no-op, record the result in a second transaction. Two
 * commits per task is what a worker that claims singly must pay.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} n tasks expected in the queue
 * @returns {Timed}
 */
export function drainOne(db, n) {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const claim = db.prepare(CLAIM_ONE_SQL);
  const complete = db.prepare(COMPLETE_SQL);
  const latencies = [];
  const cpu = cpuClock();
  const start = nowMs();
  for (;;) {
    const t0 = nowMs();
    const now = Date.now();
    begin.run();
    const row = claim.get(OWNER, now + LEASE_MS, now);
    commit.run();
    if (row == null) break;
    complete.run(RESULT, Date.now(), row.id);
    latencies.push(nowMs() - t0);
  }
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  expectCount(db, "completed", n);
  return { ops: latencies.length, seconds, latencies, cpu_us: cpuUs };
}

/**
 * Drains the queue `batch` tasks at a time: one transaction claims up to
 * `batch` tasks, a second records all their results. Latencies are per
 * batch.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} n tasks expected in the queue
 * @param {number} batch
 * @param {number} [completedBefore] tasks already completed in the table
 * @returns {Timed}
 */
export function drainBatched(db, n, batch, completedBefore = 0) {
  const round = batchRound(db, batch, OWNER);
  const latencies = [];
  let done = 0;
  const cpu = cpuClock();
  const start = nowMs();
  for (;;) {
    const t0 = nowMs();
    const count = round();
    if (count === 0) break;
    done += count;
    latencies.push(nowMs() - t0);
  }
  const seconds = (nowMs() - start) / 1000;
  const cpuUs = cpu();
  expectCount(db, "completed", completedBefore + n);
  return { ops: done, seconds, latencies, cpu_us: cpuUs };
}

/**
 * One round of the batched drain, as a function: claims up to `batch` due
 * tasks for `owner` in one transaction, completes them in a second, and
 * returns how many it claimed (0: nothing was due).
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} batch
 * @param {string} owner
 * @returns {() => number}
 */
export function batchRound(db, batch, owner) {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const claim = db.prepare(CLAIM_MANY_SQL);
  const complete = db.prepare(COMPLETE_SQL);
  return () => {
    const now = Date.now();
    begin.run();
    const rows = claim.all(owner, now + LEASE_MS, now, batch);
    commit.run();
    if (rows.length === 0) return 0;
    begin.run();
    const finished = Date.now();
    for (const row of rows) complete.run(RESULT, finished, row.id);
    commit.run();
    return rows.length;
  };
}

/**
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {number} n
 */
function insertMany(db, n) {
  const insert = db.prepare(INSERT_SQL);
  db.exec("BEGIN IMMEDIATE");
  try {
    const now = Date.now();
    for (let i = 0; i < n; i++) insert.run("noop", argsOf(i), now, now);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/**
 * Fails the run if the workload did not leave `n` rows in `status`: a fast
 * benchmark that did the wrong work is worse than none.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {string} status
 * @param {number} n
 */
export function expectCount(db, status, n) {
  const row = db.prepare("SELECT count(*) AS c FROM tasks WHERE status = ?")
    .get(status);
  if (Number(row.c) !== n) {
    throw new Error(`expected ${n} ${status} tasks, found ${row.c}`);
  }
}
