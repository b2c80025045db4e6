/**
 * What the CLI prints: plain tables for people (no dependency: a column is
 * padded to its widest cell), and values made JSON-safe for `--json`
 * (dates as ISO strings, bigints as strings, maps and sets as objects and
 * arrays, errors as `{ name, message, stack }`).
 *
 * @module
 */

/** A value as JSON can hold it; see {@linkcode toJsonValue}. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * `value` as plain JSON data: `Date` → ISO string, `bigint` → decimal
 * string, `Map` → object (keys as strings), `Set` → array, `Error` →
 * `{ name, message, stack }`, `undefined` members dropped, cycles as
 * `"[Circular]"`.
 */
export function toJsonValue(
  value: unknown,
  seen: Set<object> = new Set(),
): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return value.toString();
    case "symbol":
    case "function":
      return String(value);
  }
  const object = value as object;
  if (seen.has(object)) return "[Circular]";
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((v) => toJsonValue(v, seen));
    if (object instanceof Set) {
      return [...object].map((v) => toJsonValue(v, seen));
    }
    if (object instanceof Map) {
      const out: { [key: string]: JsonValue } = {};
      for (const [k, v] of object) out[String(k)] = toJsonValue(v, seen);
      return out;
    }
    if (object instanceof Error) {
      return toJsonValue(
        { name: object.name, message: object.message, stack: object.stack },
        seen,
      );
    }
    if (object instanceof RegExp || object instanceof URL) {
      return String(object);
    }
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(object)) {
      if (v !== undefined) out[k] = toJsonValue(v, seen);
    }
    return out;
  } finally {
    seen.delete(object);
  }
}

/** `value` on one line for a table cell or a field: JSON, dates as ISO. */
export function inline(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Date) return formatDate(value);
  return JSON.stringify(toJsonValue(value));
}

/** A date as an ISO 8601 string (UTC); empty for none. */
export function formatDate(date: Date | number | null | undefined): string {
  if (date === null || date === undefined) return "";
  const d = typeof date === "number" ? new Date(date) : date;
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** A duration in ms as people read it: `850ms`, `12.5s`, `3m 20s`, `2h 5m`, `3d 4h`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) {
    return `${Math.floor(s / 3600)}h ${Math.floor(s % 3600 / 60)}m`;
  }
  return `${Math.floor(s / 86_400)}d ${Math.floor(s % 86_400 / 3600)}h`;
}

// Control characters would move the cursor or clear the terminal: a stored
// value is shown, never obeyed.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with terminal control characters shown as `\uXXXX`. */
export function printable(text: string): string {
  return text.replace(
    CONTROL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * A table: a header row, a rule, and the rows, each column padded to its
 * widest cell (cells longer than `maxWidth` are cut with `…`). Numbers are
 * right-aligned when `numeric` names their column.
 *
 * @example
 * ```ts
 * import { table } from "./format.ts";
 * console.log(table(["status", "count"], [["queued", "3"]], { numeric: [1] }));
 * ```
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  { numeric = [], maxWidth = 60 }: {
    numeric?: readonly number[];
    maxWidth?: number;
  } = {},
): string {
  const cut = (cell: string) => {
    const flat = printable(cell.replace(/\s*\n\s*/g, " "));
    return flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
  };
  const cells = rows.map((row) => row.map(cut));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => (row[i] ?? "").length))
  );
  const line = (row: readonly string[]) =>
    row.map((cell, i) =>
      numeric.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)
    ).join("  ").trimEnd();
  return [
    line(headers),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line),
  ].join("\n");
}
