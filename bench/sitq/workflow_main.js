/**
 * Workflows at scale: a fan-out of `--width` steps from one root and a
 * fan-in of all of them into one sink, enqueued with
 * `queue.enqueueWorkflow` and run by one in-process worker at concurrency
 * 8, against the same number of independent tasks (`enqueueMany`, then the
 * same worker) as a baseline in the same process. The workflow runs twice,
 * at a tenth of the width and at the width, so the per-step cost at both
 * sizes shows whether it grows with the size (it should not: releases are
 * set-based). Reports one row with the larger run's figures.
 *
 *   bun bench/sitq/workflow_main.js --width 10000 [--pg-url URL]
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { intArg, parseChildArgs } from "../common/child_args.js";
import { reportResult } from "../common/report.js";
import { nowMs } from "../common/stats.js";
import { withTempDir } from "../common/temp_dir.js";
import { withPgDatabase } from "../common/pg_database.js";
import { loadSitq, loadSitqPostgres, openQueue } from "./load_sitq.js";

const args = parseChildArgs();
const width = intArg(args, "width", 10_000);
const sync = args.sync ?? "full";
const scenario = args.scenario ?? "workflow_fan";
const pgServer = args["pg-url"];
const subject = pgServer ? "pg.sitq" : "sitq";

const sitq = await loadSitq();
const postgres = pgServer ? await loadSitqPostgres() : null;

/**
 * One fan of `size` middle steps: enqueue and run times, in seconds.
 *
 * @param {any} queue
 * @param {any} noop
 * @param {number} size
 */
async function fan(queue, noop, size) {
  const flow = new sitq.Workflow("fan");
  const root = flow.add(noop, []);
  const middle = Array.from(
    { length: size },
    () => flow.add(noop, [], { dependsOn: [root] }),
  );
  const sink = flow.add(noop, [], { dependsOn: middle });
  let start = nowMs();
  const ids = await queue.enqueueWorkflow(flow);
  const enqueueSeconds = (nowMs() - start) / 1000;
  const worker = queue.worker({ concurrency: 8 });
  start = nowMs();
  await worker.start();
  const result = await queue.waitForResult(ids.of(sink), { timeout: 600_000 });
  const runSeconds = (nowMs() - start) / 1000;
  await worker.stop();
  if (result.status !== "completed") {
    throw new Error(`the sink ended ${result.status}`);
  }
  return { steps: size + 2, enqueueSeconds, runSeconds };
}

/**
 * The same number of tasks without dependencies.
 *
 * @param {any} queue
 * @param {any} noop
 * @param {number} count
 */
async function plain(queue, noop, count) {
  let start = nowMs();
  await queue.enqueueMany(noop, Array.from({ length: count }, () => []));
  const enqueueSeconds = (nowMs() - start) / 1000;
  const worker = queue.worker({ concurrency: 8 });
  start = nowMs();
  await worker.start();
  await worker.onIdle();
  const runSeconds = (nowMs() - start) / 1000;
  await worker.stop();
  return { enqueueSeconds, runSeconds };
}

const us = (/** @type {number} */ seconds, /** @type {number} */ steps) =>
  Math.round((seconds * 1e6) / steps);

/** @param {import("./load_sitq.js").Store} store */
async function measure(store) {
  const { queue, tasks } = openQueue(sitq, store, postgres);
  try {
    await queue.backend.open();
    const small = await fan(queue, tasks.noop, Math.max(1, width / 10));
    const large = await fan(queue, tasks.noop, width);
    const baseline = await plain(queue, tasks.noop, width + 2);
    reportResult({
      scenario,
      subject,
      ops: large.steps,
      seconds: large.runSeconds,
      note: `fan-out ${width} + fan-in: enqueue ${
        large.enqueueSeconds.toFixed(2)
      } s, run ${large.runSeconds.toFixed(2)} s (${
        us(large.runSeconds, large.steps)
      } µs/step; at ${width / 10}: ${
        us(small.runSeconds, small.steps)
      } µs/step); ${width + 2} independent tasks: enqueue ${
        baseline.enqueueSeconds.toFixed(2)
      } s, run ${baseline.runSeconds.toFixed(2)} s`,
      extra: {
        width,
        enqueue_s: large.enqueueSeconds,
        enqueue_us_per_step: us(large.enqueueSeconds, large.steps),
        enqueue_us_per_step_tenth: us(small.enqueueSeconds, small.steps),
        run_us_per_step: us(large.runSeconds, large.steps),
        run_us_per_step_tenth: us(small.runSeconds, small.steps),
        plain_enqueue_s: baseline.enqueueSeconds,
        plain_run_s: baseline.runSeconds,
        ...(pgServer ? { backend: "postgres" } : { synchronous: sync }),
      },
    });
  } finally {
    await queue.close();
  }
}

if (pgServer) {
  await withPgDatabase(pgServer, (url) => measure({ kind: "postgres", url }));
} else {
  await withTempDir((dir) =>
    measure({ kind: "sqlite", path: join(dir, "sitq.db"), sync })
  );
}
process.exit(0);
