/**
 * The work a queue does on PostgreSQL, as hand-written SQL on node-postgres:
 * the floor sitq's PostgreSQL rows are measured against. Each function
 * times only the work it names, returns what it measured, and checks that
 * the work really happened.
 *
 * Claims commit with `synchronous_commit = off`, as sitq's do (a claim lost
 * in a crash only puts the task back in the queue); inserts and completions
 * commit at the server's setting (on), so they survive a crash. Claims and
 * completions therefore run on two connections of one worker, each with its
 * own setting, which costs no extra round trip.
 *
 * @module
 */
import { cpuClock } from "../common/resources.js";
import { nowMs } from "../common/stats.js";
import {
  CLAIM_SQL,
  COMPLETE_SQL,
  CREATE_SQL,
  INSERT_MANY_SQL,
  INSERT_SQL,
} from "./pg_schema.js";

/** @typedef {import("./workloads.js").Timed} Timed */

/**
 * @typedef {object} PgClient what the floor uses of a `pg.Client`
 * @property {() => Promise<void>} connect
 * @property {(query: string | { name?: string, text: string, values?: unknown[] }, values?: unknown[]) => Promise<{ rows: any[], rowCount: number | null }>} query
 * @property {() => Promise<void>} end
 */

/**
 * @typedef {object} FloorPg
 * @property {() => Promise<PgClient>} connect a new connection to the
 *   measurement's database
 */

const LEASE_MS = 30_000;
const OWNER = "floor-worker";
const argsOf = (/** @type {number} */ i) => JSON.stringify([i]);
const RESULT = JSON.stringify(null);

// Named statements are parsed and planned once per connection, as a
// hand-tuned worker would do.
/** @param {number} now */
const insertOne = (now, /** @type {number} */ i) => ({
  name: "floor_insert",
  text: INSERT_SQL,
  values: ["noop", argsOf(i), now, now],
});
/** @param {number} now @param {number} limit */
const claim = (now, limit) => ({
  name: "floor_claim",
  text: CLAIM_SQL,
  values: [OWNER, now + LEASE_MS, now, limit],
});
/** @param {number} id */
const complete = (id) => ({
  name: "floor_complete",
  text: COMPLETE_SQL,
  values: [RESULT, Date.now(), id],
});

/**
 * Creates the table (untimed).
 *
 * @param {FloorPg} pg
 */
export async function createSchema(pg) {
  await using(await pg.connect(), (c) => c.query(CREATE_SQL));
}

/**
 * Inserts `n` tasks one at a time, each its own (autocommit) transaction:
 * each pays a commit, as `enqueue` does.
 *
 * @param {FloorPg} pg
 * @param {number} n
 * @returns {Promise<Timed>}
 */
export async function enqueueOne(pg, n) {
  return await using(await pg.connect(), async (c) => {
    const latencies = new Array(n);
    const cpu = cpuClock();
    const start = nowMs();
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await c.query(insertOne(Date.now(), i));
      latencies[i] = nowMs() - t0;
    }
    const seconds = (nowMs() - start) / 1000;
    const cpuUs = cpu();
    await expectCount(c, "queued", n);
    return { ops: n, seconds, latencies, cpu_us: cpuUs };
  });
}

/**
 * Inserts `n` tasks with one statement (`unnest` of an array parameter):
 * one round trip and one commit, as a bulk `enqueueMany` can.
 *
 * @param {FloorPg} pg
 * @param {number} n
 * @returns {Promise<Timed>}
 */
export async function enqueueBulk(pg, n) {
  return await using(await pg.connect(), async (c) => {
    const cpu = cpuClock();
    const start = nowMs();
    await insertMany(c, n);
    const seconds = (nowMs() - start) / 1000;
    const cpuUs = cpu();
    await expectCount(c, "queued", n);
    return { ops: n, seconds, cpu_us: cpuUs };
  });
}

/**
 * Fills the queue without timing it: the set-up for a drain.
 *
 * @param {FloorPg} pg
 * @param {number} n
 */
export async function prefill(pg, n) {
  await using(await pg.connect(), (c) => insertMany(c, n));
}

/**
 * Drains the queue with `lanes` workers at once, each on its own pair of
 * connections, each claiming up to `batch` tasks per statement and then
 * completing them one by one in one transaction. Latencies are per claim.
 *
 * - `lanes` 1, `batch` 1: `drain_one`, two commits per task.
 * - `lanes` 1, `batch` 8: `drain_batched`, two commits per 8 tasks.
 * - `lanes` 8, `batch` 1: `drain_c8`, eight claimers skipping each other's
 *   locked rows.
 *
 * @param {FloorPg} pg
 * @param {number} n tasks expected in the queue
 * @param {{ lanes: number, batch: number }} shape
 * @returns {Promise<Timed>}
 */
export async function drain(pg, n, { lanes, batch }) {
  const pairs = await Promise.all(
    Array.from({ length: lanes }, () => openLane(pg)),
  );
  /** @type {number[]} */
  const latencies = [];
  let done = 0;
  const lane = async (/** @type {LaneConnections} */ { claimer, settler }) => {
    for (;;) {
      const t0 = nowMs();
      const { rows } = await claimer.query(claim(Date.now(), batch));
      if (rows.length === 0) return;
      if (rows.length === 1) {
        await settler.query(complete(rows[0].id));
      } else {
        // One transaction, one commit, a round trip per statement.
        await settler.query("BEGIN");
        for (const row of rows) await settler.query(complete(row.id));
        await settler.query("COMMIT");
      }
      done += rows.length;
      latencies.push(nowMs() - t0);
    }
  };
  try {
    const cpu = cpuClock();
    const start = nowMs();
    await Promise.all(pairs.map(lane));
    const seconds = (nowMs() - start) / 1000;
    const cpuUs = cpu();
    await expectCount(pairs[0].settler, "completed", n);
    return { ops: done, seconds, latencies, cpu_us: cpuUs };
  } finally {
    await Promise.all(
      pairs.flatMap((p) => [p.claimer.end(), p.settler.end()]),
    );
  }
}

/** @typedef {{ claimer: PgClient, settler: PgClient }} LaneConnections */

/**
 * @param {FloorPg} pg
 * @returns {Promise<LaneConnections>}
 */
async function openLane(pg) {
  const [claimer, settler] = await Promise.all([pg.connect(), pg.connect()]);
  await claimer.query("SET synchronous_commit = off");
  return { claimer, settler };
}

/**
 * @param {PgClient} c
 * @param {number} n
 */
async function insertMany(c, n) {
  const args = Array.from({ length: n }, (_, i) => argsOf(i));
  await c.query(INSERT_MANY_SQL, ["noop", args, Date.now()]);
}

/**
 * Runs `fn` on `client` and closes the client afterwards.
 *
 * @template T
 * @param {PgClient} client
 * @param {(c: PgClient) => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function using(client, fn) {
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Fails the run if the workload did not leave `n` rows in `status`.
 *
 * @param {PgClient} c
 * @param {string} status
 * @param {number} n
 */
async function expectCount(c, status, n) {
  const { rows } = await c.query(
    "SELECT count(*)::int AS c FROM tasks WHERE status = $1",
    [status],
  );
  if (rows[0].c !== n) {
    throw new Error(`expected ${n} ${status} tasks, found ${rows[0].c}`);
  }
}
