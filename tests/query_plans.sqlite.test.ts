/**
 * SQLite's plans for the statements that must stay proportional to what
 * they touch, not to the queue: a batch of completions finds each task by
 * id, and of the reads, the claim walks the claim index in priority
 * order (never a sort of every due row), and the next-run lookup after a
 * short claim seeks the same index once per distinct priority (schema v11,
 * which dropped the `sitq_tasks_next_run` index every insert paid for).
 * Plans, not timings: a plan is the same on any machine. The statements
 * have the shapes lib/storage/queries/claim_tasks.ts and settle_attempts.ts
 * compile.
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

// A worker's batch of completions (queries/settle_attempts.ts): one
// statement, whose rows must each be found by id, never by a scan.
const COMPLETE_MANY = `with v(id, worker_id, attempt, result, finished_at) as
  (values (cast(1 as bigint), cast('w' as text), cast(1 as bigint),
    cast(null as text), cast(? as bigint)),
   (cast(2 as bigint), cast('w' as text), cast(1 as bigint),
    cast(null as text), cast(0 as bigint)))
  update sitq_tasks set status = 'completed', result = v.result,
    finished_at = v.finished_at, lease_expires_at = null
  from v where sitq_tasks.id = v.id and sitq_tasks.status = 'running'
    and sitq_tasks.worker_id = v.worker_id and sitq_tasks.attempts = v.attempt
  returning sitq_tasks.id`;

test("a batch of completions finds each task by its id, however many tasks the table holds", async () => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  const job = queue.task("job", (n: number) => n);
  await queue.enqueueMany(job, numberedArgs(5000));
  await queue.close();
  const complete = plan(path, COMPLETE_MANY);
  expect(complete).toContain(
    "SEARCH sitq_tasks USING INTEGER PRIMARY KEY (rowid=?)",
  );
  expect(complete).not.toContain("SCAN sitq_tasks");
});
