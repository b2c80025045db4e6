/**
 * The worker-thread scenarios (issue 13): CPU-bound tasks at concurrency 2
 * on the worker's event loop vs. in a pool of 2 threads, and the pool's
 * cost per task for no-op tasks. Child script: bench/sitq/threads_main.js.
 * Each row is the pool's, measured in the same process as its event-loop
 * counterpart, which its note gives.
 *
 * @module
 */
import type { Scenario } from "./harness/scenario.ts";

const SCRIPT = "sitq/threads_main.js";

/** The thread-pool rows, in run order. */
export const THREAD_SCENARIOS: Scenario[] = [
  {
    id: "cpu_c2",
    subject: "sitq",
    section: "CPU-bound tasks (worker threads)",
    script: SCRIPT,
    args: ({ scale }) => [
      "--workload",
      "cpu",
      "--n",
      `${scale.cpuTasks}`,
      "--ms",
      "50",
      "--scenario",
      "cpu_c2",
    ],
  },
  {
    id: "thread_noop_c2",
    subject: "sitq",
    section: "CPU-bound tasks (worker threads)",
    script: SCRIPT,
    args: ({ scale }) => [
      "--workload",
      "noop",
      "--n",
      `${scale.threadNoops}`,
      "--scenario",
      "thread_noop_c2",
    ],
  },
];
