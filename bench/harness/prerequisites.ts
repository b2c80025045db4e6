/**
 * Gets what the selected scenarios need before any runs: sitq's Node build,
 * the peers' packages, a redis-server, a PostgreSQL server. What cannot be
 * had becomes a reason recorded against every row it affects.
 *
 * @module
 */
import {
  ensureRedisServer,
  type RedisHandle,
  startRedis,
} from "./redis_server.ts";
import { ensurePeerDeps } from "./peer_deps.ts";
import {
  findPostgresBin,
  type PostgresHandle,
  startPostgres,
} from "./postgres_server.ts";
import type { RuntimeCommand } from "./runtimes.ts";
import type { Scenario } from "./scenario.ts";
import { ensureSitqBuild } from "./sitq_build.ts";

/** What the runs may use, and what they cannot do. */
export interface Prepared {
  /** `subject@runtime` -> why nothing of that subject can run there. */
  impossible: Map<string, string>;
  /** The redis-server for BullMQ, if a selected scenario needs one. */
  redis?: RedisHandle;
  /**
   * The PostgreSQL server of the PostgreSQL section, if selected. When it
   * is unavailable, its rows are skips under `--quick` (which must stay
   * green on a machine without PostgreSQL) and failures in a full run.
   */
  postgres?: PostgresHandle & { failIfUnavailable: boolean };
}

/**
 * Prepares for `selected` on `runsOf` runtimes. Installs nothing (no
 * apt-get, no npm ci) when `quick`.
 */
export async function preparePrerequisites(
  selected: readonly Scenario[],
  runsOf: (s: Scenario) => RuntimeCommand[],
  options: { quick: boolean; sync: "full" | "normal" },
): Promise<Prepared> {
  const impossible = new Map<string, string>();
  const runsOn = (s: Scenario, runtime: string) =>
    runsOf(s).some((r) => r.name === runtime);

  if (
    selected.some((s) =>
      (s.subject === "sitq" || s.subject === "pg.sitq") && runsOn(s, "node")
    )
  ) {
    const unbuilt = ensureSitqBuild();
    if (unbuilt) {
      impossible.set("sitq@node", unbuilt);
      impossible.set("pg.sitq@node", unbuilt);
    }
  }

  const peers = selected.filter((s) => s.script.startsWith("peers/"));
  if (peers.length > 0) {
    const missing = ensurePeerDeps(!options.quick);
    for (const s of missing ? peers : []) {
      for (const r of runsOf(s)) {
        impossible.set(`${s.subject}@${r.name}`, missing!);
      }
    }
  }

  const needs = (service: Scenario["needs"]) =>
    selected.some((s) =>
      s.needs === service &&
      runsOf(s).some((r) => !impossible.has(`${s.subject}@${r.name}`))
    );
  const prepared: Prepared = { impossible };
  if (needs("redis")) {
    const found = ensureRedisServer(!options.quick);
    prepared.redis = "unavailable" in found
      ? found
      : await startRedis(found.path, options.sync);
  }
  if (needs("postgres")) {
    // The server is never installed: it is part of the machine, like the
    // runtimes. fsync and synchronous_commit are on whatever --sync says.
    const found = findPostgresBin();
    const server = "unavailable" in found
      ? found
      : await startPostgres(found.bin);
    prepared.postgres = { ...server, failIfUnavailable: !options.quick };
  }
  return prepared;
}

/** Stops the servers that were started. */
export async function releasePrerequisites(prepared: Prepared): Promise<void> {
  const stops: Promise<void>[] = [];
  if (prepared.redis && "stop" in prepared.redis) {
    stops.push(prepared.redis.stop());
  }
  if (prepared.postgres && "stop" in prepared.postgres) {
    stops.push(prepared.postgres.stop());
  }
  await Promise.all(stops);
}
