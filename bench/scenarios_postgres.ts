/**
 * The PostgreSQL section's scenarios: a hand-written SQL floor on
 * node-postgres, sitq with its PostgresBackend, and the PostgreSQL queues
 * users would pick instead (pg-boss, graphile-worker), all on the one
 * private server the orchestrator starts (harness/postgres_server.ts), each
 * run in a fresh database of its own. `--only postgres` (or `pg.`) selects
 * them.
 *
 * @module
 */
import type { Scenario, ScenarioContext, Section } from "./harness/scenario.ts";

const FLOOR = "floor/pg_main.js";
const SITQ = "sitq/main.js";
const PEER = "peers/main.js";

type Args = (ctx: ScenarioContext) => string[];

function pg(
  subject: string,
  id: string,
  section: Section,
  script: string,
  args: Args,
  floor?: string,
): Scenario {
  return {
    id,
    subject,
    section,
    script,
    args,
    floor,
    group: "postgres",
    needs: "postgres",
  };
}

const DRAIN: Section = "drain (enqueued in bulk first)";

/** The floor: the same work by hand, one statement per step. */
const FLOOR_SCENARIOS: Scenario[] = [
  pg("pg.floor", "enqueue_one", "enqueue one at a time", FLOOR, ({ scale }) => [
    "--workload",
    "enqueue_one",
    "--n",
    `${scale.enqueueOne}`,
  ]),
  pg("pg.floor", "enqueue_bulk", "enqueue in bulk", FLOOR, ({ scale }) => [
    "--workload",
    "enqueue_bulk",
    "--n",
    `${scale.enqueueBulk}`,
  ]),
  ...["drain_one", "drain_batched", "drain_c8"].map((id) =>
    pg("pg.floor", id, DRAIN, FLOOR, ({ scale }) => [
      "--workload",
      id,
      "--n",
      `${scale.drain}`,
      "--batch",
      "8",
    ])
  ),
];

/** sitq through its public API with `PostgresBackend`. */
const SITQ_SCENARIOS: Scenario[] = [
  pg("pg.sitq", "enqueue_one", "enqueue one at a time", SITQ, ({ scale }) => [
    "--workload",
    "enqueue_one",
    "--n",
    `${scale.enqueueOne}`,
  ], "enqueue_one"),
  pg("pg.sitq", "enqueue_bulk", "enqueue in bulk", SITQ, ({ scale }) => [
    "--workload",
    "enqueue_bulk",
    "--n",
    `${scale.enqueueBulk}`,
  ], "enqueue_bulk"),
  // Concurrency 1 is held to the per-task floor, 8 to the floor that
  // claims 8 per statement, as in the SQLite section.
  ...[1, 8].map((c) =>
    pg("pg.sitq", `drain_c${c}`, DRAIN, SITQ, ({ scale }) => [
      "--workload",
      "drain",
      "--concurrency",
      `${c}`,
      "--n",
      `${scale.drain}`,
    ], c === 1 ? "drain_one" : "drain_batched")
  ),
  ...[2, 4].map((p) =>
    pg(
      "pg.sitq",
      `drain_p${p}`,
      "workers in other processes",
      SITQ,
      ({ scale }) => [
        "--workload",
        "drain_procs",
        "--processes",
        `${p}`,
        "--concurrency",
        "8",
        "--n",
        `${scale.drain}`,
      ],
      "drain_batched",
    )
  ),
  ...["in", "cross"].map((where) =>
    pg("pg.sitq", `latency_${where}`, "latency", SITQ, ({ scale }) => [
      "--workload",
      `latency_${where}`,
      "--samples",
      `${where === "in" ? scale.latencySamples : scale.crossLatencySamples}`,
    ])
  ),
  pg("pg.sitq", "idle_cpu", "resources", SITQ, ({ scale }) => [
    "--workload",
    "idle_cpu",
    "--seconds",
    `${scale.idleSeconds}`,
  ]),
];

/** PostgreSQL peers, installed by `npm install --prefix bench`. */
const PEERS = ["pg-boss", "graphile-worker"] as const;

function peerScenarios(peer: typeof PEERS[number]): Scenario[] {
  const common = (workload: string, n: number) => [
    "--peer",
    peer,
    "--workload",
    workload,
    "--n",
    `${n}`,
  ];
  return [
    pg(
      peer,
      "enqueue_one",
      "enqueue one at a time",
      PEER,
      ({ scale }) => common("enqueue_one", scale.peerEnqueueOne),
      "enqueue_one",
    ),
    pg(
      peer,
      "enqueue_bulk",
      "enqueue in bulk",
      PEER,
      ({ scale }) => common("enqueue_bulk", scale.peerEnqueueBulk),
      "enqueue_bulk",
    ),
    ...[1, 8].map((c) =>
      pg(peer, `drain_c${c}`, DRAIN, PEER, ({ scale }) => [
        ...common("drain", scale.drain),
        "--concurrency",
        `${c}`,
        "--max-seconds",
        `${scale.peerDrainMaxSeconds}`,
      ], c === 1 ? "drain_one" : "drain_batched")
    ),
  ];
}

/** Every PostgreSQL scenario: floor, then sitq, then the peers. */
export const POSTGRES_SCENARIOS: readonly Scenario[] = [
  ...FLOOR_SCENARIOS,
  ...SITQ_SCENARIOS,
  ...PEERS.flatMap(peerScenarios),
];
