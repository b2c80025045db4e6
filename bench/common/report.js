/**
 * How a child process hands results to the orchestrator: one JSON object per
 * stdout line behind a marker, so that a peer library's own logging on
 * stdout can never be mistaken for a result.
 *
 * @module
 */
import { runtimeName, runtimeVersion } from "./runtime.js";

/** The prefix of every result line; the orchestrator ignores other lines. */
export const RESULT_MARKER = "@@sitq-bench ";

/**
 * @typedef {object} Measurement
 * @property {string} scenario  e.g. "drain_one" or "drain_c8"
 * @property {string} subject   what was measured: "floor", "sitq", a peer name
 * @property {number} ops       tasks or jobs handled
 * @property {number} seconds   wall time of the measured part
 * @property {number} [p50_ms]  median latency of one operation
 * @property {number} [p99_ms]  latency at the 99th percentile
 * @property {string} [note]    anything a reader needs to compare fairly
 * @property {Record<string, unknown>} [extra] scenario-specific figures
 * @property {boolean} [rate] false when ops/s means nothing (latency, idle)
 * @property {number} [cpu_us_per_op] CPU time (user + system) of the
 *   measured part over `ops`, in µs (see `cpuPerOp`)
 */

/**
 * CPU µs per operation of a timed result that measured its CPU time, to one
 * decimal; undefined otherwise.
 *
 * @param {{ ops: number, cpu_us?: number }} timed
 * @returns {number | undefined}
 */
export function cpuPerOp({ ops, cpu_us }) {
  if (cpu_us === undefined || ops <= 0) return undefined;
  return Math.round((cpu_us / ops) * 10) / 10;
}

/**
 * Prints one measurement, adding the rate and the runtime it ran on.
 *
 * @param {Measurement} m
 */
export function reportResult({ rate = true, ...m }) {
  const perSecond = rate && m.seconds > 0
    ? Math.round(m.ops / m.seconds)
    : undefined;
  emit({
    kind: "result",
    runtime: runtimeName(),
    runtime_version: runtimeVersion(),
    ...m,
    per_second: perSecond,
  });
}

/**
 * Prints that a scenario could not run here, with the precise reason.
 *
 * @param {string} scenario
 * @param {string} subject
 * @param {string} reason
 * @param {{ fatal?: boolean }} [options] `fatal`: nothing else of this
 *   subject can run on this runtime
 */
export function reportSkip(scenario, subject, reason, options = {}) {
  emit({
    kind: "skip",
    runtime: runtimeName(),
    scenario,
    subject,
    reason,
    fatal: options.fatal ?? false,
  });
}

/** @param {Record<string, unknown>} record */
function emit(record) {
  console.log(RESULT_MARKER + JSON.stringify(record));
}
