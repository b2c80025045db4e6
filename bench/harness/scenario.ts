/**
 * What a scenario is to the orchestrator: a child script, its arguments,
 * and the floor row it is compared with.
 *
 * @module
 */
import type { Scale } from "./scale.ts";

/** What a scenario's arguments may depend on. */
export interface ScenarioContext {
  scale: Scale;
  sync: "full" | "normal";
  /** Set when a redis-server is running for scenarios that need it. */
  redisPort?: number;
  /** The bench's PostgreSQL server, for scenarios that need it. */
  pgUrl?: string;
}

/** One measurement to run on every selected runtime. */
export interface Scenario {
  /** The workload, shared by every subject doing it, e.g. "drain_c8". */
  id: string;
  /** Who does it: "floor", "sitq", or a peer's name ("pg.floor", "pg.sitq" in the PostgreSQL section). */
  subject: string;
  /** The table part: SQLite (default) or the PostgreSQL section. */
  group?: Group;
  /** Table section: rows of one section are printed together. */
  section: Section;
  /** The child script, relative to bench/. */
  script: string;
  /** Arguments after the script. */
  args: (ctx: ScenarioContext) => string[];
  /** The floor scenario id this one's rate is divided by, if any. */
  floor?: string;
  /** An external service the scenario needs. */
  needs?: "redis" | "postgres";
  /** Whether `--quick` runs it (default: yes). */
  quick?: boolean;
  /** Only these runtimes (default: every selected one), e.g. for costly scenarios. */
  runtimes?: readonly string[];
}

/** The table's parts, in print order: SQLite, then PostgreSQL. */
export const GROUPS = ["sqlite", "postgres"] as const;
/** One of {@link GROUPS}. */
export type Group = typeof GROUPS[number];

/** The subject whose rows are a group's floor (the `x floor` divisor). */
export const FLOOR_SUBJECT: Record<Group, string> = {
  sqlite: "floor",
  postgres: "pg.floor",
};

/** The table's sections, in print order. */
export const SECTIONS = [
  "enqueue one at a time",
  "enqueue in bulk",
  "drain (enqueued in bulk first)",
  "workers in other processes",
  "latency",
  "resources",
  "CPU-bound tasks (worker threads)",
  "workflows (fan-out and fan-in)",
] as const;
/** One of {@link SECTIONS}. */
export type Section = typeof SECTIONS[number];

/**
 * The names `--only` matches by prefix: the subject and `subject.id`, and
 * in the PostgreSQL section also `postgres` and `pg.<subject>.<id>`, so
 * `--only postgres` or `--only pg.` selects the whole section and
 * `--only pg.pg-boss` one of its peers.
 */
export function selectorNames(s: Scenario): string[] {
  const names = [s.subject, `${s.subject}.${s.id}`];
  if (s.group === "postgres") names.push("postgres", `pg.${s.subject}.${s.id}`);
  return names;
}
