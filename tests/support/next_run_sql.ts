/**
 * The shape of SQLite's next-run lookup after a short claim (schema v11,
 * `nextRunAt` in lib/storage/queries/claim_tasks.ts), for the query-plan
 * tests: one seek per distinct priority in the claim index. `filter` is the
 * extra condition on the task (names, queues); its `?` is `now`.
 */
export function nextRunPerPriority(filter: string): string {
  return `with recursive
  prio(p) as (
    select max(priority) from sitq_tasks where status = 'queued'
    union all
    select (select max(priority) from sitq_tasks
      where status = 'queued' and priority < prio.p)
    from prio where prio.p is not null
  )
select min((
  select run_at from sitq_tasks
  where status = 'queued' and priority = prio.p and run_at > ? ${filter}
  order by run_at limit 1
)) as next
from prio where prio.p is not null`;
}

/**
 * Asserts the per-priority lookup's plan: every read of `sitq_tasks` is a
 * search of the claim index, the run-time part by priority and run time;
 * no scan of the table, no sort. Returns what failed, or "" when none did.
 */
export function nextRunPlanProblems(plan: string): string {
  const problems: string[] = [];
  if (
    !plan.includes("USING INDEX sitq_tasks_claim (priority=? AND run_at>?)")
  ) {
    problems.push("the run-time read does not seek the claim index");
  }
  if (!plan.includes("USING COVERING INDEX sitq_tasks_claim (priority<?)")) {
    problems.push(
      "the step to the next priority does not seek the claim index",
    );
  }
  if (/SCAN sitq_tasks\b/.test(plan)) problems.push("it scans sitq_tasks");
  if (plan.includes("TEMP B-TREE")) problems.push("it sorts");
  return problems.join("; ");
}
