/**
 * Gets what the selected scenarios need before any runs: sitq's Node build,
 * the peers' packages, a redis-server. What cannot be had becomes a reason
 * recorded against every row it affects.
 *
 * @module
 */
import {
  ensureRedisServer,
  type RedisHandle,
  startRedis,
} from "./redis_server.ts";
import { ensurePeerDeps } from "./peer_deps.ts";
import type { RuntimeCommand } from "./runtimes.ts";
import type { Scenario } from "./scenario.ts";
import { ensureSitqBuild } from "./sitq_build.ts";

/** What the runs may use, and what they cannot do. */
export interface Prepared {
  /** `subject@runtime` -> why nothing of that subject can run there. */
  impossible: Map<string, string>;
  /** The redis-server for BullMQ, if a selected scenario needs one. */
  redis?: RedisHandle;
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

  if (selected.some((s) => s.subject === "sitq" && runsOn(s, "node"))) {
    const unbuilt = ensureSitqBuild();
    if (unbuilt) impossible.set("sitq@node", unbuilt);
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

  const needsRedis = selected.some((s) =>
    s.needs === "redis" &&
    runsOf(s).some((r) => !impossible.has(`${s.subject}@${r.name}`))
  );
  if (!needsRedis) return { impossible };
  const found = ensureRedisServer(!options.quick);
  const redis = "unavailable" in found
    ? found
    : await startRedis(found.path, options.sync);
  return { impossible, redis };
}

/** Stops the redis-server if one was started. */
export async function releasePrerequisites(prepared: Prepared): Promise<void> {
  if (prepared.redis && "stop" in prepared.redis) await prepared.redis.stop();
}
