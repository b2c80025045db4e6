/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for
 * tests of `prometheusMetrics()` and of anything that serves it: it throws
 * on any line the format does not allow, a sample before its family's
 * `# HELP` and `# TYPE`, a family declared twice, a sample whose name does
 * not belong to its family, a counter not named `_total`, and a histogram
 * whose buckets are not cumulative, do not end with `le="+Inf"`, or
 * disagree with `_count`, or that lacks `_sum`.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its type, help and samples in order. */
export interface Family {
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`bad value in: ${line}`);
  }
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (match === null) throw new Error(`bad labels in: ${line}`);
    if (match[1]! in labels) throw new Error(`label twice in: ${line}`);
    // One pass: an escaped backslash followed by "n" is not a newline.
    labels[match[1]!] = match[2]!.replace(
      /\\(["\\n])/g,
      (_, c: string) => (c === "n" ? "\n" : c),
    );
  }
  return labels;
}

/** Parses and checks `text`; returns its families by name. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) {
    throw new Error("exposition must end with a newline");
  }
  const families = new Map<string, Family>();
  let current: { name: string; family: Family } | undefined;
  const helps = new Map<string, string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const [, name, help] = /^# HELP (\S+) (.*)$/.exec(line) ?? [];
      if (name === undefined || !NAME.test(name)) {
        throw new Error(`bad HELP: ${line}`);
      }
      if (helps.has(name) || families.has(name)) {
        throw new Error(`family twice: ${name}`);
      }
      helps.set(name, help ?? "");
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [, name, type] =
        /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/
          .exec(line) ?? [];
      if (name === undefined) throw new Error(`bad TYPE: ${line}`);
      if (families.has(name)) throw new Error(`TYPE twice: ${name}`);
      if (!helps.has(name)) throw new Error(`TYPE before HELP: ${name}`);
      if (type === "counter" && !name.endsWith("_total")) {
        throw new Error(`counter not named _total: ${name}`);
      }
      const family: Family = {
        type: type as Family["type"],
        help: helps.get(name)!,
        samples: [],
      };
      families.set(name, family);
      current = { name, family };
      continue;
    }
    if (line.startsWith("#") || line === "") {
      throw new Error(`stray line: ${JSON.stringify(line)}`);
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`bad sample: ${line}`);
    const [, name, , labelText, valueText] = match;
    if (current === undefined) {
      throw new Error(`sample before any TYPE: ${line}`);
    }
    const allowed = current.family.type === "histogram"
      ? [
        `${current.name}_bucket`,
        `${current.name}_sum`,
        `${current.name}_count`,
      ]
      : [current.name];
    if (!allowed.includes(name!)) {
      throw new Error(`sample ${name} outside its family ${current.name}`);
    }
    current.family.samples.push({
      name: name!,
      labels: labelText === undefined ? {} : parseLabels(labelText, line),
      value: parseValue(valueText!, line),
    });
  }
  for (const [name, family] of families) {
    if (family.type === "histogram") checkHistogram(name, family);
  }
  return families;
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(labels).filter(([k]) => k !== "le").sort(),
  );
}

function checkHistogram(name: string, family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const key = seriesKey(sample.labels);
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`);
    const sum = samples.find((s) => s.name === `${name}_sum`);
    if (count === undefined || sum === undefined) {
      throw new Error(`${name} ${key}: _count and _sum required`);
    }
    let lastBound = -Infinity;
    let lastCount = 0;
    for (const bucket of buckets) {
      const le = bucket.labels.le;
      if (le === undefined) {
        throw new Error(`${name} ${key}: bucket without le`);
      }
      const bound = le === "+Inf" ? Infinity : Number(le);
      if (!(bound > lastBound)) {
        throw new Error(`${name} ${key}: le not ascending at ${le}`);
      }
      if (bucket.value < lastCount) {
        throw new Error(`${name} ${key}: buckets not cumulative at ${le}`);
      }
      lastBound = bound;
      lastCount = bucket.value;
    }
    if (lastBound !== Infinity) {
      throw new Error(`${name} ${key}: no le="+Inf" bucket last`);
    }
    if (lastCount !== count.value) {
      throw new Error(
        `${name} ${key}: +Inf bucket ${lastCount} != _count ${count.value}`,
      );
    }
  }
}

/** The value of the sample `name` whose labels include `labels`, if any. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (
        sample.name === name &&
        Object.entries(labels).every(([k, v]) => sample.labels[k] === v)
      ) return sample.value;
    }
  }
  return undefined;
}
