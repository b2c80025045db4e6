/**
 * Rows of the results: one per scenario and runtime, whatever happened.
 *
 * @module
 */
import type { ChildRecord } from "./child.ts";
import { FLOOR_SUBJECT, type Group, type Scenario } from "./scenario.ts";

/** One line of the results table and of the JSON file. */
export interface Row {
  /** The table part: "sqlite" or "postgres". */
  group: Group;
  section: string;
  scenario: string;
  subject: string;
  runtime: string;
  status: "ok" | "skipped" | "failed";
  ops?: number;
  seconds?: number;
  per_second?: number;
  p50_ms?: number;
  p99_ms?: number;
  /** CPU time (user + system) per op of the measured part, in µs. */
  cpu_us_per_op?: number;
  /** `per_second` over the same runtime's floor row named by `floor`. */
  ratio_to_floor?: number;
  floor?: string;
  note?: string;
  reason?: string;
  runtime_version?: string;
  extra?: Record<string, unknown>;
}

/** A row from a child's result or skip record. */
export function rowFromRecord(scenario: Scenario, record: ChildRecord): Row {
  const row: Row = {
    group: scenario.group ?? "sqlite",
    section: scenario.section,
    scenario: scenario.id,
    subject: scenario.subject,
    runtime: record.runtime,
    status: record.kind === "result" ? "ok" : "skipped",
    floor: scenario.floor,
  };
  if (record.kind === "skip") return { ...row, reason: record.reason };
  return {
    ...row,
    ops: record.ops,
    seconds: record.seconds,
    per_second: record.per_second,
    p50_ms: record.p50_ms,
    p99_ms: record.p99_ms,
    cpu_us_per_op: record.cpu_us_per_op,
    note: record.note,
    runtime_version: record.runtime_version,
    extra: record.extra,
  };
}

/** A row for a scenario that did not run or did not report. */
export function rowWithout(
  scenario: Scenario,
  runtime: string,
  status: "skipped" | "failed",
  reason: string,
): Row {
  return {
    group: scenario.group ?? "sqlite",
    section: scenario.section,
    scenario: scenario.id,
    subject: scenario.subject,
    runtime,
    status,
    reason,
  };
}

/**
 * Fills `ratio_to_floor` in place: each row's rate over the rate of its
 * floor scenario on the same runtime, in the same group (the SQLite floor
 * for SQLite rows, the PostgreSQL floor for PostgreSQL rows), measured in
 * this run.
 */
export function addFloorRatios(rows: Row[]): void {
  const key = (subject: string, scenario: string, runtime: string) =>
    `${subject}/${scenario}@${runtime}`;
  const floorRate = new Map<string, number>();
  for (const row of rows) {
    if (row.subject === FLOOR_SUBJECT[row.group] && row.per_second) {
      floorRate.set(
        key(row.subject, row.scenario, row.runtime),
        row.per_second,
      );
    }
  }
  for (const row of rows) {
    if (!row.floor || !row.per_second) continue;
    const base = floorRate.get(
      key(FLOOR_SUBJECT[row.group], row.floor, row.runtime),
    );
    if (base) {
      row.ratio_to_floor = Math.round((row.per_second / base) * 100) / 100;
    }
  }
}
