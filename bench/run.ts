/**
 * The benchmark orchestrator: runs every scenario of scenarios.ts on each
 * runtime, each in its own child process, then prints a table and writes
 * bench/results/<timestamp>.json and bench/results/latest.json.
 *
 *   bun bench/run.ts [--quick] [--runtimes bun,deno,node] [--sync full|normal]
 *                    [--only floor,sitq,plainjob.drain_c8,postgres,pg.sitq]
 *
 * Exits 1 if any scenario failed (a skip with a reason is not a failure).
 *
 * @module
 */
import { cpus, platform, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseBenchArgs } from "./harness/args.ts";
import {
  preparePrerequisites,
  releasePrerequisites,
} from "./harness/prerequisites.ts";
import { writeResults } from "./harness/results.ts";
import { addFloorRatios, type Row } from "./harness/rows.ts";
import { describeRow, runScenario } from "./harness/run_scenario.ts";
import { findRuntime } from "./harness/runtimes.ts";
import { FULL_SCALE, QUICK_SCALE } from "./harness/scale.ts";
import { type Scenario, selectorNames } from "./harness/scenario.ts";
import { formatNotRun, formatTable } from "./harness/table.ts";
import { SCENARIOS } from "./scenarios.ts";

const startedAt = new Date();
const options = parseBenchArgs(process.argv.slice(2));
const scale = options.quick ? QUICK_SCALE : FULL_SCALE;
const selected = SCENARIOS.filter((s) =>
  (!options.quick || s.quick !== false) &&
  (options.only.length === 0 ||
    options.only.some((o) =>
      selectorNames(s).some((name) => name.startsWith(o))
    ))
);
const runtimes = options.runtimes.map(findRuntime);
const runsOf = (s: Scenario) =>
  runtimes.filter((r) => !s.runtimes || s.runtimes.includes(r.name));

const prepared = await preparePrerequisites(selected, runsOf, options);
process.once("SIGINT", () => {
  void releasePrerequisites(prepared).finally(() => process.exit(130));
});

const rows: Row[] = [];
const total = selected.reduce((sum, s) => sum + runsOf(s).length, 0);
let done = 0;
try {
  for (const scenario of selected) {
    for (const runtime of runsOf(scenario)) {
      const settings = { scale, sync: options.sync };
      const got = await runScenario(scenario, runtime, prepared, settings);
      rows.push(...got);
      done++;
      for (const row of got) {
        console.error(`[${done}/${total}] ${describeRow(row)}`);
      }
    }
  }
} finally {
  await releasePrerequisites(prepared);
}

addFloorRatios(rows);
const mode = options.quick ? "quick" : "full";
console.log(`\nsitq bench (${mode}, synchronous=${options.sync})\n`);
const pgServer = prepared.postgres && "url" in prepared.postgres
  ? prepared.postgres
  : undefined;
console.log(formatTable(rows, {
  sqlite: `SQLite (synchronous=${options.sync})`,
  postgres: pgServer
    ? `PostgreSQL ${pgServer.version} (${pgServer.durability}; one private server)`
    : "PostgreSQL",
}));
const notRun = formatNotRun(rows);
if (notRun) console.log(`\nNot run:\n${notRun}`);

const finishedAt = new Date();
const seconds = (finishedAt.getTime() - startedAt.getTime()) / 1000;
const redis = prepared.redis;
const postgres = prepared.postgres;
const file = writeResults(
  join(new URL(".", import.meta.url).pathname, "results"),
  startedAt,
  {
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_s: seconds,
    options,
    scale,
    machine: {
      platform: platform(),
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      memory_bytes: totalmem(),
    },
    runtimes,
    redis: redis &&
      ("port" in redis ? { durability: redis.durability } : redis),
    postgres: postgres &&
      ("url" in postgres
        ? { version: postgres.version, durability: postgres.durability }
        : { unavailable: postgres.unavailable }),
    rows,
  },
);
console.log(`\nwrote ${file} (${seconds.toFixed(0)} s)`);
process.exit(rows.some((r) => r.status === "failed") ? 1 : 0);
