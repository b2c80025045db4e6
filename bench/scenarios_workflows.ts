/**
 * The workflow scenarios (issue 11): a fan-out to `scale.drain` steps
 * (10,000 in a full run) and a fan-in back to one, against as many
 * independent tasks, on SQLite and on the bench's PostgreSQL server. Child
 * script: bench/sitq/workflow_main.js, whose note gives the per-step cost
 * at a tenth of the width too, to show it does not grow with the size.
 *
 * @module
 */
import type { Scenario, ScenarioContext } from "./harness/scenario.ts";

const SCRIPT = "sitq/workflow_main.js";

const args = ({ scale, sync }: ScenarioContext): string[] => [
  "--width",
  `${scale.drain}`,
  "--scenario",
  "workflow_fan",
  "--sync",
  sync,
];

/** The workflow rows, in run order: SQLite, then PostgreSQL. */
export const WORKFLOW_SCENARIOS: Scenario[] = [
  {
    id: "workflow_fan",
    subject: "sitq",
    section: "workflows (fan-out and fan-in)",
    script: SCRIPT,
    args,
  },
  {
    id: "workflow_fan",
    subject: "pg.sitq",
    group: "postgres",
    needs: "postgres",
    section: "workflows (fan-out and fan-in)",
    script: SCRIPT,
    // The harness adds --pg-url for scenarios that need PostgreSQL.
    args,
  },
];
