/**
 * Workflows: tasks that wait for other tasks and read their results. A
 * port of GigQ's workflow guide ("Workflows", docs/user-guide/workflows.md)
 * to sitq, section by section:
 *
 * 1. A pipeline: download, then process, then analyse; each step reads
 *    the result of the one before (GigQ's `parent_results`).
 * 2. Fan-out and fan-in: a split step, five chunks that depend on it, and a
 *    combine step that waits for all five (the diamond).
 * 3. Multiple dependencies: a report that waits for two unrelated steps.
 * 4. Monitoring: each step's status as the workflow runs.
 * 5. Beyond GigQ: a failing step cancels what depends on it (the reason
 *    recorded), a dependency marked `runAnyway` runs regardless, and
 *    requeueing the failed step brings its dependents back.
 *
 * Run: `bun examples/workflow.ts` (or `deno run -A examples/workflow.ts`)
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SQLiteBackend,
  type TaskContext,
  type TaskId,
  TaskQueue,
  Workflow,
} from "../mod.ts";

const dir = mkdtempSync(join(tmpdir(), "sitq-workflow-"));
const queue = new TaskQueue(new SQLiteBackend(join(dir, "workflow_jobs.db")));

// ---- the tasks ------------------------------------------------------------
// GigQ injects a `parent_results` dict; in sitq a step asks its context for
// the parents it needs, typed by their task: `this.parentResult(download)`.

const download = queue.task("download", (url: string) => {
  return { file: url.split("/").pop() ?? "data.csv", rows: 1000 };
});

const processData = queue.task(
  "process",
  async function (this: TaskContext) {
    const data = await this.parentResult(download);
    return { processed: data.file, rows: data.rows };
  },
);

const analyze = queue.task("analyze", async function (this: TaskContext) {
  const data = await this.parentResult(processData);
  return { analysis: `Processed ${data.rows} rows` };
});

const splitData = queue.task("split_data", () => ({ chunks: 5 }));

const processChunk = queue.task(
  "process_chunk",
  async function (this: TaskContext, chunkId: number) {
    const source = await this.parentResult(splitData);
    return { chunkId, total: source.chunks };
  },
);

const combine = queue.task("combine", async function (this: TaskContext) {
  const results = await this.parentResults(processChunk);
  return { totalChunks: results.length };
});

const generateReport = queue.task(
  "generate_report",
  async function (this: TaskContext) {
    const parents = await this.parents();
    return { report: "done", from: parents.map((parent) => parent.name) };
  },
);

let flaky = true;
const fetchPrices = queue.task("fetch_prices", () => {
  if (flaky) throw new Error("price feed unavailable");
  return { prices: 42 };
}, { maxAttempts: 1 });

const publish = queue.task("publish", async function (this: TaskContext) {
  return await this.parentResult(fetchPrices);
});

const cleanup = queue.task("cleanup", async function (this: TaskContext) {
  const [parent] = await this.parents();
  return `cleaned up after a ${parent?.result.status} fetch`;
});

const worker = queue.worker({ concurrency: 4, pollInterval: 100 });
await worker.start();

/** Prints each step's name and status (GigQ's check_workflow_status). */
async function checkWorkflowStatus(ids: readonly TaskId[]): Promise<void> {
  for (const id of ids) {
    const task = await queue.getTask(id);
    console.log(`  ${task.name}: ${task.status}`);
  }
}

// ---- 1. a pipeline --------------------------------------------------------
console.log("1. Pipeline: download -> process -> analyze");
const pipeline = new Workflow("data_processing_pipeline");
const step1 = pipeline.add(download, ["https://example.com/data.csv"]);
const step2 = pipeline.add(processData, [], { dependsOn: [step1] });
const step3 = pipeline.add(analyze, [], { dependsOn: [step2] });
const pipelineIds = await queue.enqueueWorkflow(pipeline);
console.log(`  Submitted ${pipelineIds.ids.length} jobs`);
const analysis = await queue.waitForResult(pipelineIds.of(step3), {
  timeout: 10_000,
});
if (analysis.status === "completed") {
  console.log(`  analyze -> ${JSON.stringify(analysis.value)}`);
}

// ---- 2. fan-out and fan-in ------------------------------------------------
console.log("2. Fan-out and fan-in (the diamond)");
const diamond = new Workflow("fan_out");
const split = diamond.add(splitData, []);
const chunks = [0, 1, 2, 3, 4].map((chunkId) =>
  diamond.add(processChunk, [chunkId], { dependsOn: [split] })
);
const combined = diamond.add(combine, [], { dependsOn: chunks });
const diamondIds = await queue.enqueueWorkflow(diamond);
const total = await queue.waitForResult(diamondIds.of(combined), {
  timeout: 10_000,
});
if (total.status === "completed") {
  console.log(`  combine -> ${JSON.stringify(total.value)}`);
}

// ---- 3. multiple dependencies ---------------------------------------------
console.log("3. Multiple dependencies");
const multi = new Workflow("multi_dep");
const stepA = multi.add(download, ["https://example.com/a.csv"]);
const stepB = multi.add(splitData, []);
const report = multi.add(generateReport, [], { dependsOn: [stepA, stepB] });
const multiIds = await queue.enqueueWorkflow(multi);
const reportResult = await queue.waitForResult(multiIds.of(report), {
  timeout: 10_000,
});
if (reportResult.status === "completed") {
  console.log(`  generate_report -> ${JSON.stringify(reportResult.value)}`);
}

// ---- 4. monitoring ----------------------------------------------------------
console.log("4. Monitoring: every step of the diamond");
await checkWorkflowStatus(diamondIds.ids);

// ---- 5. failures, run anyway, requeue -------------------------------------
console.log("5. A failing step, a step that runs anyway, and a requeue");
const prices = new Workflow("prices");
const fetched = prices.add(fetchPrices, []);
const published = prices.add(publish, [], { dependsOn: [fetched] });
const cleaned = prices.add(cleanup, [], {
  dependsOn: [{ on: fetched, runAnyway: true }],
});
const priceIds = await queue.enqueueWorkflow(prices);
const cleanedUp = await queue.waitForResult(priceIds.of(cleaned), {
  timeout: 10_000,
});
if (cleanedUp.status === "completed") {
  console.log(`  cleanup -> ${JSON.stringify(cleanedUp.value)}`);
}
const cancelled = await queue.getResult(priceIds.of(published));
if (cancelled.status === "cancelled") {
  console.log(`  publish: cancelled (${cancelled.reason?.code})`);
}
flaky = false;
await queue.requeue(priceIds.of(fetched));
const publishedAgain = await queue.waitForResult(priceIds.of(published), {
  timeout: 10_000,
});
if (publishedAgain.status === "completed") {
  console.log(
    `  after requeue: publish -> ${JSON.stringify(publishedAgain.value)}`,
  );
}

await worker.stop();
console.log(`Final stats: ${JSON.stringify(await queue.stats())}`);
await queue.close();
rmSync(dir, { recursive: true, force: true });
console.log("=== Example completed ===");
