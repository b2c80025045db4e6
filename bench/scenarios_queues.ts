/**
 * Named queues (issue 12): the drain of bench/sitq/main.js at concurrency
 * 8 with a limit on the tasks' queue that does not bind, a global
 * concurrency of 8 (the worker's own) or a rate of 10^9 per second, next
 * to the plain `drain_c8` in the same section: the difference is what
 * counting a limit inside every claim transaction costs (on PostgreSQL
 * also the generic transaction instead of the one-trip step, which a
 * limited queue needs for its lock). Same floor as `drain_c8`.
 *
 * @module
 */
import type { Scenario, ScenarioContext } from "./harness/scenario.ts";

const SCRIPT = "sitq/main.js";
const SECTION = "drain (enqueued in bulk first)" as const;

const args = (limit: string, id: string) =>
(
  { scale, sync }: ScenarioContext,
): string[] => [
  "--workload",
  "drain",
  "--concurrency",
  "8",
  "--n",
  `${scale.drain}`,
  "--queue-limit",
  limit,
  "--scenario",
  id,
  "--sync",
  sync,
];

/** The rows, SQLite then PostgreSQL. */
export const QUEUE_SCENARIOS: Scenario[] = ["concurrency", "rate"].flatMap((
  limit,
): Scenario[] => {
  const id = `drain_c8_${limit === "concurrency" ? "qconc" : "qrate"}`;
  return [
    {
      id,
      subject: "sitq",
      section: SECTION,
      script: SCRIPT,
      floor: "drain_batched",
      args: args(limit, id),
    },
    {
      id,
      subject: "pg.sitq",
      group: "postgres",
      needs: "postgres",
      section: SECTION,
      script: SCRIPT,
      floor: "drain_batched",
      // The harness adds --pg-url for scenarios that need PostgreSQL.
      args: args(limit, id),
    },
  ];
});
