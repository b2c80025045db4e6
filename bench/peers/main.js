/**
 * Runs one workload of one peer queue library on this runtime and reports
 * it, or reports precisely why it cannot run here.
 *
 *   bun bench/peers/main.js --peer plainjob --workload drain --concurrency 8
 *
 * Workloads: enqueue_one, enqueue_bulk, drain. Flags: --n, --sync,
 * --concurrency and --max-seconds (drain), --redis-port (BullMQ), --pg-url
 * (pg-boss, graphile-worker: the server; each run creates and drops a
 * database of its own there).
 *
 * @module
 */
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { withPgDatabase } from "../common/pg_database.js";
import { reportResult, reportSkip } from "../common/report.js";
import { runtimeName } from "../common/runtime.js";
import { latencySummary } from "../common/stats.js";
import { withTempDir } from "../common/temp_dir.js";
import { PEERS } from "./registry.js";
import { drain, enqueueBulk, enqueueOne, NotSupported } from "./workloads.js";

const args = parseChildArgs();
const adapter = PEERS[args.peer ?? ""];
if (!adapter) {
  throw new Error(`unknown --peer ${args.peer}; one of ${Object.keys(PEERS)}`);
}
const workload = args.workload ?? "drain";
const n = intArg(args, "n", 10_000);
const concurrency = intArg(args, "concurrency", 1);
const maxSeconds = intArg(args, "max-seconds", 20);
const sync = args.sync ?? "full";
const redisPort = args["redis-port"] ? Number(args["redis-port"]) : undefined;
const scenario = workload === "drain" ? `drain_c${concurrency}` : workload;

/** @type {Record<string, (s: import("./peer.js").PeerSession) => Promise<import("./workloads.js").PeerTimed>>} */
const WORKLOADS = {
  enqueue_one: (s) => enqueueOne(s, n),
  enqueue_bulk: (s) => enqueueBulk(s, n),
  drain: (s) => drain(s, n, concurrency, maxSeconds),
};
const run = WORKLOADS[workload];
if (!run) throw new Error(`unknown --workload ${workload}`);

// PostgreSQL peers get a database of their own on the bench's server.
const pgServer = args["pg-url"];
const withStore = (
  /** @type {(ctx: { dir: string, pgUrl?: string }) => Promise<void>} */ fn,
) =>
  withTempDir((dir) =>
    pgServer
      ? withPgDatabase(pgServer, (pgUrl) => fn({ dir, pgUrl }))
      : fn({ dir })
  );

await withStore(async ({ dir, pgUrl }) => {
  /** @type {import("./peer.js").PeerSession} */
  let session;
  try {
    session = await adapter.open({ dir, sync, redisPort, pgUrl });
  } catch (error) {
    // `fatal` tells the orchestrator that no other workload of this peer
    // can run on this runtime either, so it need not spawn them.
    reportSkip(
      scenario,
      adapter.name,
      `${adapter.requirement} (${runtimeName()}: ${firstLine(error)})`,
      { fatal: true },
    );
    return;
  }
  try {
    const timed = await run(session);
    reportResult({
      scenario,
      subject: adapter.name,
      ops: timed.ops,
      seconds: timed.seconds,
      ...latencySummary(timed.latencies ?? []),
      note: timed.note,
      extra: { durability: session.durability, concurrency },
    });
  } catch (error) {
    if (!(error instanceof NotSupported)) throw error;
    reportSkip(scenario, adapter.name, `${adapter.name} ${error.message}`);
  } finally {
    await session.close();
  }
});
// Some peers keep timers or sockets open after close; the result is out.
process.exit(0);

/** @param {unknown} error */
function firstLine(error) {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split("\n")[0];
  return line.length > 220 ? `${line.slice(0, 217)}...` : line;
}
