/**
 * Turning stored values into text for the dashboard: any deserialized value
 * (dates, maps, sets, bigints, errors, cycles) as indented JSON-like text,
 * dates as ISO strings, durations and ages in words. Text only: the
 * templates escape it.
 *
 * @module
 */

/** How long a shown value may be before it is cut (characters). */
export const MAX_VALUE_CHARS = 20_000;

/**
 * A value as readable, indented text: JSON for plain data, with dates as
 * ISO strings, `Map`s and `Set`s as objects/arrays tagged with their kind,
 * bigints with an `n`, `undefined` spelled out, cycles marked. Cut at
 * `max` characters.
 */
export function formatValue(
  value: unknown,
  max: number = MAX_VALUE_CHARS,
): string {
  if (value === undefined) return "undefined";
  const seen = new WeakSet<object>();
  let text: string;
  try {
    text = JSON.stringify(value, function (this: unknown, key, item) {
      // JSON.stringify hands toJSON's result (an ISO string) for a Date:
      // read the holder's own value to keep dates recognisable.
      const own = (this as Record<string, unknown>)[key];
      if (own instanceof Date) {
        return Number.isNaN(own.getTime()) ? "Invalid Date" : own.toISOString();
      }
      if (typeof item === "bigint") return `${item}n`;
      if (item === undefined) return "undefined";
      if (typeof item === "function") return `[function ${item.name}]`;
      if (typeof item === "symbol") return item.toString();
      if (item !== null && typeof item === "object") {
        if (seen.has(item)) return "[circular]";
        seen.add(item);
        if (item instanceof Map) return { "[Map]": Object.fromEntries(item) };
        if (item instanceof Set) return { "[Set]": [...item] };
        if (item instanceof Error) {
          return { name: item.name, message: item.message };
        }
      }
      return item;
    }, 2) ?? String(value);
  } catch (error) {
    text = `[cannot show: ${(error as Error).message}]`;
  }
  return text.length > max
    ? `${text.slice(0, max)}\n… (${text.length - max} more characters)`
    : text;
}

/** A date as an ISO 8601 string in UTC, or "" when absent. */
export function formatDate(date: Date | null | undefined): string {
  return date === undefined || date === null ? "" : date.toISOString();
}

/** A duration in milliseconds as "850 ms", "12.3 s", "4 min 2 s", "1 h", "3 d 5 h". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  // The two largest units, the smaller left out when it is 0.
  const [big, bigUnit, small, smallUnit] = s < 3600
    ? [Math.floor(s / 60), "min", s % 60, "s"]
    : s < 86_400
    ? [Math.floor(s / 3600), "h", Math.floor(s % 3600 / 60), "min"]
    : [Math.floor(s / 86_400), "d", Math.floor(s % 86_400 / 3600), "h"];
  return small === 0
    ? `${big} ${bigUnit}`
    : `${big} ${bigUnit} ${small} ${smallUnit}`;
}
