/**
 * The orchestrator's command line.
 *
 * @module
 */
import { RUNTIME_NAMES, type RuntimeName } from "./runtimes.ts";

/** What one bench run does. */
export interface BenchOptions {
  /** Small counts, no redis-server install: proves the bench runs. */
  quick: boolean;
  /** Runtimes to run each scenario on. */
  runtimes: RuntimeName[];
  /** SQLite `synchronous` for the floor and SQLite peers (Redis follows). */
  sync: "full" | "normal";
  /** Keep only scenarios whose `subject` or `subject.id` starts with one of these. */
  only: string[];
}

/** Usage text for `--help` and argument errors. */
export const USAGE =
  `usage: bun bench/run.ts [--quick] [--runtimes bun,deno,node]
                        [--sync full|normal] [--only floor,sitq,plainjob.drain_c8,...]`;

/**
 * Parses the orchestrator's arguments.
 *
 * @throws {Error} with the usage text on an unknown flag or value.
 */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    runtimes: [...RUNTIME_NAMES],
    sync: "full",
    only: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case "--quick":
        options.quick = true;
        break;
      case "--runtimes":
        options.runtimes = value().split(",").map(checkRuntime);
        break;
      case "--sync": {
        const sync = value();
        if (sync !== "full" && sync !== "normal") {
          throw new Error(`--sync must be full or normal\n${USAGE}`);
        }
        options.sync = sync;
        break;
      }
      case "--only":
        options.only = value().split(",").filter(Boolean);
        break;
      default:
        throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
  }
  return options;
}

function checkRuntime(name: string): RuntimeName {
  if ((RUNTIME_NAMES as readonly string[]).includes(name)) {
    return name as RuntimeName;
  }
  throw new Error(`unknown runtime ${name}\n${USAGE}`);
}
