/**
 * The pieces of argument handling the commands share: the version shown by
 * `--version`, an optional database path before other positionals, and
 * the filter options of `retry`, `cancel` and `prune`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { Argv } from "yargs";
import type { GlobalOptions } from "./context.ts";
import type { FilterOptions } from "./commands/manage.ts";
import { parseDate, parseDuration, parseStatuses, splitList } from "./parse.ts";

/** Parsed arguments as the handlers read them. */
export type Args = GlobalOptions & Record<string, unknown>;

/** sitq's version, from the manifest beside the sources or dist/. */
export function version(): string {
  for (
    const path of [
      "../../package.json",
      "../../../package.json",
      "../../deno.json",
    ]
  ) {
    try {
      const manifest = JSON.parse(
        readFileSync(new URL(path, import.meta.url), "utf8"),
      ) as { name?: string; version?: string };
      if (manifest.version !== undefined) return manifest.version;
    } catch {
      // Not there in this layout: the next.
    }
  }
  return "unknown";
}

/**
 * The positionals under `key`, with the database taken off the front when
 * `--db` is not given and the first is not a task id: `retry tasks.db 4 5`
 * and `retry 4 5 --db tasks.db` alike.
 */
export function dbAndRest(
  argv: Args,
  key: string,
): { db?: string; rest: string[] } {
  const rest = (splitList(argv[key] as string[] | undefined) ?? []).slice();
  const db = argv.db ??
    (rest.length > 0 && !/^[0-9]+$/.test(rest[0]!) ? rest.shift() : undefined);
  return { ...(db === undefined ? {} : { db }), rest };
}

/** The filter options `retry`, `cancel` and `prune` were given. */
export function filterOptions(argv: Args): FilterOptions {
  const options: FilterOptions = {};
  const status = parseStatuses(argv.status as string[] | undefined);
  if (status !== undefined) options.status = status;
  const name = splitList(argv.name as string[] | undefined);
  if (name !== undefined) options.name = name;
  const queue = splitList(argv.queue as string[] | undefined);
  if (queue !== undefined) options.queue = queue;
  if (typeof argv.olderThan === "string") {
    options.olderThan = parseDuration(argv.olderThan, "older-than");
  }
  if (typeof argv.createdBefore === "string") {
    options.createdBefore = parseDate(argv.createdBefore, "created-before");
  }
  if (typeof argv.finishedBefore === "string") {
    options.finishedBefore = parseDate(argv.finishedBefore, "finished-before");
  }
  if (argv.all === true) options.all = true;
  return options;
}

/** Declares the filter options on a command. */
export function withFilters<T>(y: Argv<T>): Argv<T> {
  return y
    .option("status", {
      type: "string",
      array: true,
      describe: "only tasks in these statuses (repeat or comma-separate)",
    })
    .option("name", {
      type: "string",
      array: true,
      describe: "only these task names",
    })
    .option("queue", {
      type: "string",
      array: true,
      describe: "only these queues",
    })
    .option("older-than", {
      type: "string",
      describe:
        "finished (or, unfinished, created) longer ago than: 90s, 12h, 7d",
    })
    .option("created-before", {
      type: "string",
      describe: "created before this ISO date",
    })
    .option("finished-before", {
      type: "string",
      describe: "finished before this ISO date",
    })
    .option("all", {
      type: "boolean",
      describe: "every task the command applies to",
    });
}
