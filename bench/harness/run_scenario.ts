/**
 * Runs one scenario on one runtime in a child process and turns what it
 * reported (or failed to) into rows.
 *
 * @module
 */
import { runChild } from "./child.ts";
import type { Prepared } from "./prerequisites.ts";
import { type Row, rowFromRecord, rowWithout } from "./rows.ts";
import type { RuntimeCommand } from "./runtimes.ts";
import type { Scale } from "./scale.ts";
import type { Scenario, ScenarioContext } from "./scenario.ts";

const BENCH_DIR = new URL("../", import.meta.url).pathname;

/**
 * Runs `scenario` on `runtime`, or says why it cannot. A child's fatal skip
 * is remembered in `prepared.impossible` so the subject's other scenarios
 * on that runtime are not spawned in vain.
 */
export async function runScenario(
  scenario: Scenario,
  runtime: RuntimeCommand,
  prepared: Prepared,
  settings: { scale: Scale; sync: "full" | "normal" },
): Promise<Row[]> {
  const skip = (reason: string) => [
    rowWithout(scenario, runtime.name, "skipped", reason),
  ];
  if ("missing" in runtime) return skip(runtime.missing);
  const key = `${scenario.subject}@${runtime.name}`;
  const known = prepared.impossible.get(key);
  if (known) return skip(known);
  const ctx: ScenarioContext = { ...settings };
  if (scenario.needs === "redis") {
    const redis = prepared.redis;
    if (!redis || "unavailable" in redis) {
      return skip(redis?.unavailable ?? "no redis-server was started");
    }
    ctx.redisPort = redis.port;
  }
  if (scenario.needs === "postgres") {
    const postgres = prepared.postgres;
    if (!postgres || "unavailable" in postgres) {
      const reason = postgres?.unavailable ??
        "no PostgreSQL server was started";
      if (!postgres?.failIfUnavailable) return skip(reason);
      return [rowWithout(scenario, runtime.name, "failed", reason)];
    }
    ctx.pgUrl = postgres.url;
  }
  const args = [...runtime.prefix, scenario.script, ...scenario.args(ctx)];
  if (ctx.redisPort) args.push("--redis-port", `${ctx.redisPort}`);
  if (ctx.pgUrl) args.push("--pg-url", ctx.pgUrl);
  const outcome = await runChild(runtime.command, args, {
    cwd: BENCH_DIR,
    timeoutMs: settings.scale.childTimeoutMs,
  });
  const rows = outcome.records.map((record) => {
    if (record.kind === "skip" && record.fatal && record.reason) {
      prepared.impossible.set(key, record.reason);
    }
    return rowFromRecord(scenario, record);
  });
  if (rows.length > 0) return rows;
  const reason = outcome.timedOut
    ? `timed out after ${settings.scale.childTimeoutMs / 1000} s`
    : `exit ${outcome.exitCode}: ${outcome.stderrTail || "no output"}`;
  return [rowWithout(scenario, runtime.name, "failed", reason)];
}

/** One progress line for a finished row. */
export function describeRow(row: Row): string {
  const what = `${row.subject} ${row.scenario} on ${row.runtime}`;
  if (row.status !== "ok") {
    return `${what}: ${row.status} (${row.reason?.slice(0, 120)})`;
  }
  const took = `${row.seconds?.toFixed(1)} s`;
  if (row.per_second === undefined) {
    return `${what}: p50 ${row.p50_ms ?? "-"} ms, ${row.note ?? ""} (${took})`;
  }
  return `${what}: ${row.per_second.toLocaleString("en-US")}/s in ${took}`;
}
