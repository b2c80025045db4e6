/**
 * SQLite's plans for the two reads that must stay proportional to what they
 * return, not to the queue: the claim walks the claim index in priority
 * order (never a sort of every due row), and the next-run lookup after a
 * short claim walks the `sitq_tasks_next_run` index (migrations v3, v5) in
 * run time order. Plans, not timings: a plan is the same on any machine. The
 * statements have the shapes lib/storage/queries/claim_tasks.ts compiles.
 */
import { afterAll, expect, test } from "bun:test";
import {
  cleanup,
  newQueue,
  numberedArgs,
  tempDbPath,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

const CLAIM = `update sitq_tasks set status = 'running'
  where id in (select id from sitq_tasks
    where status = 'queued' and run_at <= ? and name in ('job')
    order by priority desc, run_at, id limit 8)
  and status = 'queued' returning id`;
// A claim of one task compares the id with the subquery's one value.
const CLAIM_ONE = CLAIM.replace("where id in (", "where id = (")
  .replace("limit 8", "limit 1");
const NEXT_RUN = `select run_at from sitq_tasks
  where status = 'queued' and run_at > ? and name in ('job')
    and run_at >= 0
  order by run_at limit 1`;

function plan(path: string, statement: string): string {
  return withRaw(
    path,
    (db) =>
      (db.query(`explain query plan ${statement}`).all(Date.now()) as Array<
        { detail: string }
      >).map((row) => row.detail).join(" | "),
  );
}

test("the claim walks the claim index and the next-run lookup the run-time index", async () => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  const job = queue.task("job", (n: number) => n);
  await queue.enqueueMany(job, numberedArgs(2000));
  await queue.enqueueMany(job.with({ delay: 3_600_000 }), numberedArgs(2000));
  await queue.close();

  for (const statement of [CLAIM, CLAIM_ONE]) {
    const claim = plan(path, statement);
    expect(claim).toContain("USING INDEX sitq_tasks_claim");
    expect(claim).not.toContain("sitq_tasks_next_run");
    expect(claim).not.toContain("TEMP B-TREE");
  }

  const next = plan(path, NEXT_RUN);
  expect(next).toContain("USING INDEX sitq_tasks_next_run");
  expect(next).not.toContain("TEMP B-TREE");
});
