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
}

/** One measurement to run on every selected runtime. */
export interface Scenario {
  /** The workload, shared by every subject doing it, e.g. "drain_c8". */
  id: string;
  /** Who does it: "floor", "sitq", or a peer's name. */
  subject: string;
  /** Table section: rows of one section are printed together. */
  section: Section;
  /** The child script, relative to bench/. */
  script: string;
  /** Arguments after the script. */
  args: (ctx: ScenarioContext) => string[];
  /** The floor scenario id this one's rate is divided by, if any. */
  floor?: string;
  /** An external service the scenario needs. */
  needs?: "redis";
  /** Whether `--quick` runs it (default: yes). */
  quick?: boolean;
  /** Only these runtimes (default: every selected one), e.g. for costly scenarios. */
  runtimes?: readonly string[];
}

/** The table's sections, in print order. */
export const SECTIONS = [
  "enqueue one at a time",
  "enqueue in bulk",
  "drain (enqueued in bulk first)",
  "workers in other processes",
  "latency",
  "resources",
] as const;
/** One of {@link SECTIONS}. */
export type Section = typeof SECTIONS[number];
