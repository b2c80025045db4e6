/**
 * Plans of the claim with named queues (schema v8), on SQLite and on
 * PostgreSQL: a claim filtered by a worker's queues and leaving paused or
 * limited queues alone still walks the claim index in priority order
 * (never a sort of every due row), reading `sitq_queues` once as a list;
 * a limited queue's claim does the same; the next-run lookup seeks the
 * claim index per priority (SQLite, v11); the limited step reads the running tasks through the
 * lease index and a rate window's size with two probes of the starts
 * index. Plans, not timings: the same on any machine.
 * The statements have the shapes lib/storage/queries/claim_tasks.ts,
 * queue_claims.ts and postgres/settle_in_one_trip.ts compile.
 */
import { afterAll, expect, test } from "bun:test";
import pg from "pg";
import { cleanup, newQueue, tempDbPath, withRaw } from "./helpers.ts";
import {
  nextRunPerPriority,
  nextRunPlanProblems,
} from "./support/next_run_sql.ts";
import { postgresQueue } from "./support/postgres_tests.ts";
import { describePostgres } from "./support/postgres_tests.ts";

afterAll(cleanup);

const HELD_BACK = `select name from sitq_queues
  where paused <> 0 or concurrency is not null or rate_limit is not null`;
// The plain claim, of a worker with queues.
const CLAIM = `update sitq_tasks set status = 'running'
  where id in (select id from sitq_tasks
    where status = 'queued' and run_at <= ? and name in ('job')
      and queue in ('a', 'b') and queue not in (${HELD_BACK})
    order by priority desc, run_at, id limit 8)
  and status = 'queued' returning id`;
const CLAIM_ONE = CLAIM.replace("where id in (", "where id = (")
  .replace("limit 8", "limit 1");
// A limited queue's own claim (queue_claims.ts), without a worker list.
const CLAIM_LIMITED = `update sitq_tasks set status = 'running'
  where id in (select id from sitq_tasks
    where status = 'queued' and run_at <= ? and name in ('job')
      and queue = 'limited'
    order by priority desc, run_at, id limit 8)
  and status = 'queued' returning id`;
const NEXT_RUN = nextRunPerPriority(
  "and name in ('job') and queue in ('a', 'b')",
);
const RUNNING = `select count(*) from sitq_tasks
  where status = 'running' and queue = 'limited' and ? is not null`;
// The rate window's first start and the newest (queue_claims.ts).
const FIRST_START = `select started_at, seq from sitq_queue_starts
  where queue = 'limited' and started_at > ?
  order by started_at, seq limit 1`;
const NEWEST_START = `select started_at, seq from sitq_queue_starts
  where queue = 'limited' and ? is not null
  order by started_at desc, seq desc limit 1`;

function plan(path: string, statement: string): string {
  return withRaw(
    path,
    (db) =>
      (db.query(`explain query plan ${statement}`).all(Date.now()) as Array<
        { detail: string }
      >).map((row) => row.detail).join(" | "),
  );
}

/** 2,000 due and 2,000 delayed tasks over four queues, some limited. */
async function fill(
  queue: ReturnType<typeof newQueue>,
): Promise<void> {
  const job = queue.task("job", (n: number) => n);
  for (const name of ["a", "b", "limited", "other"]) {
    const args = Array.from({ length: 500 }, (_, n): [number] => [n]);
    await queue.enqueueMany(job.with({ queue: name }), args);
    await queue.enqueueMany(
      job.with({ queue: name, delay: 3_600_000 }),
      args,
    );
  }
  await queue.queues.setLimits("limited", { concurrency: 5 });
  await queue.queues.pause("other");
}

test("SQLite: claims with queues walk the claim index; the counts read their indexes", async () => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  await fill(queue);
  await queue.close();

  for (const statement of [CLAIM, CLAIM_ONE, CLAIM_LIMITED]) {
    const claim = plan(path, statement);
    expect(claim).toContain("USING INDEX sitq_tasks_claim");
    expect(claim).not.toContain("sitq_tasks_next_run");
    expect(claim).not.toContain("TEMP B-TREE");
  }
  // The held-back queues: one list, read once (not per task).
  expect(plan(path, CLAIM)).toContain("LIST SUBQUERY");
  expect(plan(path, CLAIM)).not.toContain("CORRELATED");

  expect(nextRunPlanProblems(plan(path, NEXT_RUN))).toBe("");

  expect(plan(path, RUNNING)).toContain("USING INDEX sitq_tasks_lease");
  // Two probes of the starts index, whatever the rate: no count, no sort.
  for (const statement of [FIRST_START, NEWEST_START]) {
    const starts = plan(path, statement);
    expect(starts).toContain("USING COVERING INDEX sitq_queue_starts_queue");
    expect(starts).not.toContain("TEMP B-TREE");
  }
});

await describePostgres("PostgreSQL plans with queues", (url) => {
  test("PostgreSQL: the one-trip claim with queues walks the claim index, sitq_queues hashed once", async () => {
    const { queue, schema } = postgresQueue(url);
    await fill(queue as unknown as ReturnType<typeof newQueue>);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const q = `"${schema}"`;
      const explain = async (statement: string, params: unknown[]) => {
        await client.query("begin");
        try {
          // As the one-trip prelude sets it (settle_in_one_trip.ts).
          await client.query("set local enable_sort = off");
          const { rows } = await client.query(
            `explain ${statement}`,
            params,
          );
          return rows.map((row) => row["QUERY PLAN"] as string).join("\n");
        } finally {
          await client.query("rollback");
        }
      };
      const claim = await explain(
        `with claimable as materialized (
          select id from ${q}.sitq_tasks
          where status = 'queued' and run_at <= $2 and name = any($1::text[])
            and ($3::text[] is null or queue = any($3::text[]))
            and queue not in (select name from ${q}.sitq_queues
              where paused <> 0 or concurrency is not null
                or rate_limit is not null)
          order by priority desc, run_at, id limit 8
          for update skip locked)
        update ${q}.sitq_tasks set status = 'running'
        where id in (select id from claimable) and status = 'queued'
        returning id`,
        [["job"], Date.now(), ["a", "b"]],
      );
      expect(claim).toContain("sitq_tasks_claim");
      expect(claim).not.toMatch(/Sort\b/);
      // The held-back list: a subplan run once, not per row.
      expect(claim).toMatch(
        /hashed SubPlan|Hash Anti Join|Hash Right Anti Join/,
      );
      const limited = await explain(
        `select id from ${q}.sitq_tasks
          where status = 'queued' and run_at <= $2 and name = any($1::text[])
            and queue = $3
          order by priority desc, run_at, id limit 8 for update skip locked`,
        [["job"], Date.now(), "limited"],
      );
      expect(limited).toContain("sitq_tasks_claim");
      expect(limited).not.toMatch(/Sort\b/);
    } finally {
      await client.end();
    }
  });
});
