/**
 * The registry of every benchmark scenario. The orchestrator (run.ts) runs
 * each entry on each selected runtime, in this order, in its own process.
 *
 * Add a scenario by adding an entry: a child script under bench/ that
 * prints records with common/report.js, its arguments, and the floor
 * scenario its rate is compared with.
 *
 * @module
 */
import {
  GROUPS,
  type Scenario,
  type ScenarioContext,
  SECTIONS,
} from "./harness/scenario.ts";
import { POSTGRES_SCENARIOS } from "./scenarios_postgres.ts";
import { QUEUE_SCENARIOS } from "./scenarios_queues.ts";
import { THREAD_SCENARIOS } from "./scenarios_threads.ts";
import { WORKFLOW_SCENARIOS } from "./scenarios_workflows.ts";

const FLOOR = "floor/main.js";
const PEER = "peers/main.js";

/** The raw-SQL floor: the same work as a queue, by hand, on the runtime's driver. */
const FLOOR_SCENARIOS: Scenario[] = [
  {
    id: "enqueue_one",
    subject: "floor",
    section: "enqueue one at a time",
    script: FLOOR,
    args: (
      { scale, sync },
    ) => [
      "--workload",
      "enqueue_one",
      "--n",
      `${scale.enqueueOne}`,
      "--sync",
      sync,
    ],
  },
  {
    id: "enqueue_bulk",
    subject: "floor",
    section: "enqueue in bulk",
    script: FLOOR,
    args: (
      { scale, sync },
    ) => [
      "--workload",
      "enqueue_bulk",
      "--n",
      `${scale.enqueueBulk}`,
      "--sync",
      sync,
    ],
  },
  {
    id: "drain_one",
    subject: "floor",
    section: "drain (enqueued in bulk first)",
    script: FLOOR,
    args: (
      { scale, sync },
    ) => ["--workload", "drain_one", "--n", `${scale.drain}`, "--sync", sync],
  },
  {
    id: "drain_batched",
    subject: "floor",
    section: "drain (enqueued in bulk first)",
    script: FLOOR,
    args: ({ scale, sync }) => [
      "--workload",
      "drain_batched",
      "--n",
      `${scale.drain}`,
      "--batch",
      "8",
      "--sync",
      sync,
    ],
  },
  // drain_batched after an untimed one of as many tasks, the counterpart
  // of sitq's drain_c8_warm.
  {
    id: "drain_batched_warm",
    subject: "floor",
    section: "drain (enqueued in bulk first)",
    script: FLOOR,
    args: ({ scale, sync }) => [
      "--workload",
      "drain_batched",
      "--n",
      `${scale.drain}`,
      "--warmup",
      `${scale.drainWarmup}`,
      "--batch",
      "8",
      "--sync",
      sync,
    ],
  },
  // The batched drain in 2 and 4 processes on one file: what SQLite's
  // write lock leaves for workers in other processes on this machine.
  ...[2, 4].map((processes): Scenario => ({
    id: `drain_batched_p${processes}`,
    subject: "floor",
    section: "workers in other processes",
    script: FLOOR,
    floor: "drain_batched",
    args: ({ scale, sync }) => [
      "--workload",
      "drain_procs",
      "--processes",
      `${processes}`,
      "--n",
      `${scale.drain}`,
      "--batch",
      "8",
      "--sync",
      sync,
    ],
  })),
];

// ---------------------------------------------------------------------------
// sitq's own scenarios: child script bench/sitq/main.js, through sitq's
// public API (mod.ts on Bun and Deno, dist/mod.js on Node).
// ---------------------------------------------------------------------------
const SITQ = "sitq/main.js";

function sitq(
  id: string,
  section: Scenario["section"],
  floor: string | undefined,
  workload: (ctx: ScenarioContext) => string[],
  more: Partial<Scenario> = {},
): Scenario {
  return {
    id,
    subject: "sitq",
    section,
    script: SITQ,
    floor,
    args: (ctx) => [...workload(ctx), "--scenario", id, "--sync", ctx.sync],
    ...more,
  };
}

const SITQ_SCENARIOS: Scenario[] = [
  sitq("enqueue_one", "enqueue one at a time", "enqueue_one", ({ scale }) => [
    "--workload",
    "enqueue_one",
    "--n",
    `${scale.enqueueOne}`,
  ]),
  sitq("enqueue_bulk", "enqueue in bulk", "enqueue_bulk", ({ scale }) => [
    "--workload",
    "enqueue_bulk",
    "--n",
    `${scale.enqueueBulk}`,
  ]),
  ...[1, 8].map((concurrency) =>
    sitq(
      `drain_c${concurrency}`,
      "drain (enqueued in bulk first)",
      concurrency === 1 ? "drain_one" : "drain_batched",
      ({ scale }) => [
        "--workload",
        "drain",
        "--concurrency",
        `${concurrency}`,
        "--n",
        `${scale.drain}`,
      ],
    )
  ),
  // The same drain in a process that has drained as many tasks before
  // (untimed): what a worker that has been up a while sustains, without the
  // engines' compiling of sitq's code that a fresh process pays for its
  // first few thousand tasks.
  sitq(
    "drain_c8_warm",
    "drain (enqueued in bulk first)",
    "drain_batched_warm",
    ({ scale }) => [
      "--workload",
      "drain",
      "--concurrency",
      "8",
      "--n",
      `${scale.drain}`,
      "--warmup",
      `${scale.drainWarmup}`,
    ],
  ),
  ...[2, 4].map((processes) =>
    sitq(
      `drain_p${processes}`,
      "workers in other processes",
      "drain_batched",
      ({ scale }) => [
        "--workload",
        "drain_procs",
        "--processes",
        `${processes}`,
        "--concurrency",
        "8",
        "--n",
        `${scale.drain}`,
      ],
    )
  ),
  ...["in", "cross"].map((where) =>
    sitq(`latency_${where}`, "latency", undefined, ({ scale }) => [
      "--workload",
      `latency_${where}`,
      "--samples",
      `${where === "in" ? scale.latencySamples : scale.crossLatencySamples}`,
    ])
  ),
  sitq("idle_cpu", "resources", undefined, ({ scale }) => [
    "--workload",
    "idle_cpu",
    "--seconds",
    `${scale.idleSeconds}`,
  ]),
  // A million rows on each runtime: the SQL is the same, the drivers differ.
  sitq("deep_drain_c8", "resources", "drain_batched", ({ scale }) => [
    "--workload",
    "deep_queue",
    "--rows",
    `${scale.deepRows}`,
    "--n",
    `${scale.drain}`,
  ]),
  // The longest scenario (about a minute per runtime): every one of a
  // million tasks drained by one worker, and its memory before and after.
  sitq("drain_all_1m_c8", "resources", "drain_batched", ({ scale }) => [
    "--workload",
    "long_drain",
    "--rows",
    `${scale.longDrainRows}`,
  ]),
];

/** Peer queue libraries, installed by `npm install --prefix bench`. */
const PEER_NAMES = ["plainjob", "liteque", "bunqueue", "bullmq"] as const;

function peerScenarios(peer: typeof PEER_NAMES[number]): Scenario[] {
  const needs = peer === "bullmq" ? "redis" as const : undefined;
  const common = (
    workload: string,
    n: number,
    sync: string,
  ) => ["--peer", peer, "--workload", workload, "--n", `${n}`, "--sync", sync];
  return [
    {
      id: "enqueue_one",
      subject: peer,
      section: "enqueue one at a time",
      script: PEER,
      needs,
      floor: "enqueue_one",
      args: ({ scale, sync }) =>
        common("enqueue_one", scale.peerEnqueueOne, sync),
    },
    {
      id: "enqueue_bulk",
      subject: peer,
      section: "enqueue in bulk",
      script: PEER,
      needs,
      floor: "enqueue_bulk",
      args: ({ scale, sync }) =>
        common("enqueue_bulk", scale.peerEnqueueBulk, sync),
    },
    ...[1, 8].map((concurrency): Scenario => ({
      id: `drain_c${concurrency}`,
      subject: peer,
      section: "drain (enqueued in bulk first)",
      script: PEER,
      needs,
      // One at a time is held to the per-task floor; eight at once to the
      // floor that claims eight per transaction.
      floor: concurrency === 1 ? "drain_one" : "drain_batched",
      args: (
        { scale, sync },
      ) => [
        ...common("drain", scale.drain, sync),
        "--concurrency",
        `${concurrency}`,
        "--max-seconds",
        `${scale.peerDrainMaxSeconds}`,
      ],
    })),
  ];
}

/**
 * Every scenario, in run order: the SQLite part, then the PostgreSQL part
 * (scenarios_postgres.ts); in each, section by section, and in each section
 * the floor, then sitq, then the peers. The disk's speed drifts during a
 * run, so each comparison is measured close in time to its floor.
 */
export const SCENARIOS: readonly Scenario[] = [
  ...FLOOR_SCENARIOS,
  ...SITQ_SCENARIOS,
  ...PEER_NAMES.flatMap(peerScenarios),
  ...THREAD_SCENARIOS,
  ...WORKFLOW_SCENARIOS,
  ...POSTGRES_SCENARIOS,
  ...QUEUE_SCENARIOS,
].map((scenario, index) => ({ scenario, index }))
  .sort((a, b) =>
    GROUPS.indexOf(a.scenario.group ?? "sqlite") -
      GROUPS.indexOf(b.scenario.group ?? "sqlite") ||
    SECTIONS.indexOf(a.scenario.section) -
      SECTIONS.indexOf(b.scenario.section) ||
    a.index - b.index
  )
  .map(({ scenario }) => scenario);
