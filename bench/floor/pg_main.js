/**
 * Runs one PostgreSQL floor workload on node-postgres, in a fresh database
 * on the bench's server, and reports it.
 *
 *   bun  bench/floor/pg_main.js --pg-url postgres://... --workload drain_batched --n 10000
 *   deno run -A bench/floor/pg_main.js ...
 *   node bench/floor/pg_main.js ...
 *
 * Workloads: enqueue_one, enqueue_bulk, drain_one, drain_batched (--batch,
 * default 8), drain_c8 (8 claimers at once, one task per claim).
 *
 * @module
 */
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { loadPg, withPgDatabase } from "../common/pg_database.js";
import { cpuPerOp, reportResult, reportSkip } from "../common/report.js";
import { latencySummary } from "../common/stats.js";
import {
  createSchema,
  drain,
  enqueueBulk,
  enqueueOne,
  prefill,
} from "./pg_workloads.js";

const SUBJECT = "pg.floor";
const args = parseChildArgs();
const workload = args.workload ?? "drain_one";
const n = intArg(args, "n", 10_000);
const batch = intArg(args, "batch", 8);
const serverUrl = args["pg-url"];
if (!serverUrl) throw new Error("--pg-url is required");

/** @type {Record<string, { run: (pg: import("./pg_workloads.js").FloorPg) => Promise<import("./workloads.js").Timed>, note?: string }>} */
const WORKLOADS = {
  enqueue_one: { run: (pg) => enqueueOne(pg, n) },
  enqueue_bulk: {
    run: (pg) => enqueueBulk(pg, n),
    note: "one INSERT ... SELECT FROM unnest($args)",
  },
  drain_one: {
    run: (pg) => prefillThen(pg, { lanes: 1, batch: 1 }),
    note: "claim 1, then complete: two commits per task",
  },
  drain_batched: {
    run: (pg) => prefillThen(pg, { lanes: 1, batch }),
    note: `claim ${batch} per statement, complete them in one transaction; ` +
      "latency per batch",
  },
  drain_c8: {
    run: (pg) => prefillThen(pg, { lanes: 8, batch: 1 }),
    note: "8 claimers on their own connections, claim 1 each",
  },
};
const chosen = WORKLOADS[workload];
if (!chosen) {
  throw new Error(
    `unknown --workload ${workload}; one of ${Object.keys(WORKLOADS)}`,
  );
}

/**
 * @param {import("./pg_workloads.js").FloorPg} pg
 * @param {{ lanes: number, batch: number }} shape
 */
async function prefillThen(pg, shape) {
  await prefill(pg, n);
  return await drain(pg, n, shape);
}

let Client;
try {
  ({ Client } = await loadPg());
} catch (error) {
  reportSkip(
    workload,
    SUBJECT,
    `pg (node-postgres) not installed: npm install --prefix bench (${
      error instanceof Error ? error.message.split("\n")[0] : error
    })`,
    { fatal: true },
  );
  process.exit(0);
}

await withPgDatabase(serverUrl, async (url) => {
  /** @type {import("./pg_workloads.js").FloorPg} */
  const pg = {
    async connect() {
      const client = new Client({ connectionString: url });
      await client.connect();
      return client;
    },
  };
  await createSchema(pg);
  const timed = await chosen.run(pg);
  const version = await pg.connect().then(async (c) => {
    const { rows } = await c.query("SHOW server_version");
    await c.end();
    return rows[0].server_version;
  });
  reportResult({
    scenario: workload,
    subject: SUBJECT,
    ops: timed.ops,
    seconds: timed.seconds,
    cpu_us_per_op: cpuPerOp(timed),
    ...latencySummary(timed.latencies ?? []),
    note: chosen.note,
    extra: {
      driver: "pg",
      server_version: version,
      // Not `durability`, which the table prints: the README states it.
      commits:
        "claims synchronous_commit=off (as sitq's), inserts and completions on",
    },
  });
});
process.exit(0);
