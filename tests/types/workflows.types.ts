/**
 * Compile-time tests of workflows' typing, checked by
 * `tsc -p tsconfig.test.json` (never run). Every `@ts-expect-error` line must
 * be an error; tests/types.test.ts proves each one is, by stripping them.
 *
 * @module
 */
import {
  declareTask,
  type ParentResult,
  SQLiteBackend,
  type TaskContext,
  type TaskId,
  TaskQueue,
  Workflow,
  type WorkflowStep,
} from "../../mod.ts";

const queue = new TaskQueue(new SQLiteBackend(":memory:"));
const download = queue.task("download", (url: string) => ({ url, rows: 1 }));
const count = declareTask<[label: string], number>("count");

// ---- steps take the task's arguments, as an array --------------------------

const flow = new Workflow("typed");
const fetched: WorkflowStep<{ url: string; rows: number }> = flow.add(
  download,
  ["https://example.com"],
);
// @ts-expect-error: the argument must be a string
flow.add(download, [42]);
// @ts-expect-error: arguments are an array, not spread
flow.add(download, "https://example.com");
const counted = flow.add(count, ["rows"], { dependsOn: [fetched, 7] });
flow.add(count, ["again"], {
  dependsOn: [{ on: counted, runAnyway: true }],
  delay: 1000,
});
// @ts-expect-error: a dependency is a step or a task id
flow.add(count, ["bad"], { dependsOn: ["download"] });

// ---- ids of steps carry their results --------------------------------------

const ids = await queue.enqueueWorkflow(flow);
const countId: TaskId<number> = ids.of(counted);
// @ts-expect-error: the step's result is a number, not a string
const wrongId: TaskId<string> = ids.of(counted);
const all: readonly TaskId[] = ids.ids;
const result = await queue.waitForResult(ids.of(fetched));
if (result.status === "completed") {
  const rows: number = result.value.rows;
  void rows;
}

// ---- a running step reads its parents, typed by their task ------------------

queue.task("report", async function (this: TaskContext) {
  const data = await this.parentResult(download);
  const rows: number = data.rows;
  // @ts-expect-error: download's result has no 'size'
  data.size;
  const counts: number[] = await this.parentResults(count);
  const parents: ParentResult[] = await this.parents();
  return rows + counts.length + parents.length;
});

void countId;
void wrongId;
void all;
await queue.close();
