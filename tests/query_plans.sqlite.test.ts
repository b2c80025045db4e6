/**
 * SQLite's plans for the two reads that must stay proportional to what they
 * return, not to the queue: the claim walks the claim index in priority
 * order (never a sort of every due row), and the next-run lookup after a
 * short claim seeks the same index once per distinct priority (schema v11,
 * which dropped the `sitq_tasks_next_run` index every insert paid for).
 * Plans, not timings: a plan is the same on any machine. The statements
 * have the shapes lib/storage/queries/claim_tasks.ts compiles.
 */
import { afterAll, expect, test } from "bun:test";
import {
  cleanup,
  newQueue,
  numberedArgs,
  tempDbPath,
  withRaw,
} from "./helpers.ts";
import {
  nextRunPerPriority,
  nextRunPlanProblems,
} from "./support/next_run_sql.ts";

afterAll(cleanup);

const CLAIM = `update sitq_tasks set status = 'running'
  where id in (select id from sitq_tasks
    where status = 'queued' and run_at <= ? and name in ('job')
    order by priority desc, run_at, id limit 8)
  and status = 'queued' returning id`;
// A claim of one task compares the id with the subquery's one value.
const CLAIM_ONE = CLAIM.replace("where id in (", "where id = (")
  .replace("limit 8", "limit 1");
const NEXT_RUN = nextRunPerPriority("and name in ('job')");

function plan(path: string, statement: string): string {
  return withRaw(
    path,
    (db) =>
      (db.query(`explain query plan ${statement}`).all(Date.now()) as Array<
        { detail: string }
      >).map((row) => row.detail).join(" | "),
  );
}

test("the claim walks the claim index and the next-run lookup seeks it per priority", async () => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  const job = queue.task("job", (n: number) => n);
  await queue.enqueueMany(job, numberedArgs(2000));
  await queue.enqueueMany(job.with({ delay: 3_600_000 }), numberedArgs(2000));
  await queue.enqueueMany(
    job.with({ delay: 3_600_000, priority: 5 }),
    numberedArgs(200),
  );
  await queue.close();
  const indexes = withRaw(
    path,
    (db) =>
      (db.query("select name from sqlite_master where type = 'index'")
        .all() as Array<{ name: string }>).map((row) => row.name),
  );
  expect(indexes).toContain("sitq_tasks_claim");
  expect(indexes).not.toContain("sitq_tasks_next_run");

  for (const statement of [CLAIM, CLAIM_ONE]) {
    const claim = plan(path, statement);
    expect(claim).toContain("USING INDEX sitq_tasks_claim");
    expect(claim).not.toContain("sitq_tasks_next_run");
    expect(claim).not.toContain("TEMP B-TREE");
  }

  expect(nextRunPlanProblems(plan(path, NEXT_RUN))).toBe("");
});
