/**
 * Prints results as a fixed-width table, then the list of what did not
 * run and why.
 *
 * @module
 */
import type { Row } from "./rows.ts";
import { type Group, GROUPS, SECTIONS } from "./scenario.ts";

const COLUMNS: { title: string; cell: (r: Row) => string; right?: boolean }[] =
  [
    { title: "scenario", cell: (r) => r.scenario },
    { title: "subject", cell: (r) => r.subject },
    { title: "runtime", cell: (r) => r.runtime },
    { title: "ops", cell: (r) => fmt(r.ops), right: true },
    { title: "per s", cell: (r) => fmt(r.per_second), right: true },
    { title: "p50 ms", cell: (r) => fmt(r.p50_ms, 3), right: true },
    { title: "p99 ms", cell: (r) => fmt(r.p99_ms, 3), right: true },
    { title: "cpu µs/op", cell: (r) => fmt(r.cpu_us_per_op, 1), right: true },
    { title: "x floor", cell: ratio },
    {
      title: "notes",
      cell: (r) => [r.note, durability(r)].filter(Boolean).join("; "),
    },
  ];

/**
 * The table of successful rows as text: group by group (SQLite, then
 * PostgreSQL, each under its heading when there is more than one group),
 * section by section.
 */
export function formatTable(
  rows: Row[],
  headings: Partial<Record<Group, string>> = {},
): string {
  const ok = rows.filter((r) => r.status === "ok");
  const cells = ok.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) =>
    Math.max(c.title.length, ...cells.map((row) => row[i]!.length))
  );
  const pad = (value: string, i: number) =>
    COLUMNS[i]!.right ? value.padStart(widths[i]!) : value.padEnd(widths[i]!);
  const line = (values: string[]) => values.map(pad).join("  ").trimEnd();
  const out = [line(COLUMNS.map((c) => c.title))];
  const groups = GROUPS.filter((g) => ok.some((r) => r.group === g));
  for (const group of groups) {
    if (groups.length > 1 || group !== "sqlite") {
      out.push("", `== ${headings[group] ?? group}`);
    }
    for (const section of SECTIONS) {
      const inSection = ok.filter((r) =>
        r.group === group && r.section === section
      );
      if (inSection.length === 0) continue;
      out.push("", `-- ${section}`);
      for (const r of inSection) out.push(line(COLUMNS.map((c) => c.cell(r))));
    }
  }
  return out.join("\n");
}

/** What did not run, one line per distinct subject, runtime and reason. */
export function formatNotRun(rows: Row[]): string {
  const seen = new Map<string, string[]>();
  for (const r of rows) {
    if (r.status === "ok") continue;
    const failed = r.status === "failed" ? "FAILED " : "";
    const key = `${failed}${r.subject} on ${r.runtime}: ${r.reason}`;
    seen.set(key, [...(seen.get(key) ?? []), r.scenario]);
  }
  return [...seen].map(([key, scenarios]) =>
    `- ${key} [${scenarios.join(", ")}]`
  ).join("\n");
}

function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined) return "";
  return digits === 0
    ? Math.round(value).toLocaleString("en-US")
    : value.toFixed(digits);
}

/** The ratio, naming the floor row only when it is not the same workload. */
function ratio(row: Row): string {
  if (row.ratio_to_floor === undefined) return "";
  const value = row.ratio_to_floor.toFixed(2);
  return row.floor === row.scenario ? value : `${value} vs ${row.floor}`;
}

function durability(row: Row): string {
  const d = row.extra?.durability;
  return typeof d === "string" ? d : "";
}
