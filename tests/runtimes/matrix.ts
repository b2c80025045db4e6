/**
 * Every runtime and driver sitq supports, as one list a test can loop over:
 * Bun (bun:sqlite) and Deno (node:sqlite) on the `.ts` sources, and each Node
 * of tests/node_versions.ts on the built dist/ (better-sqlite3 on Node 20,
 * node:sqlite on 22 and 24).
 *
 * A fixture for the matrix is a plain `.mjs` script that loads sitq with
 * `await import(process.env.SITQ_MODULE)`, so the very same file runs
 * everywhere. Call {@linkcode buildDist} in `beforeAll` before using a Node
 * target. Fixtures live under tests/ so that Deno finds deno.json (its
 * import map) from them.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BIN, ROOT } from "../helpers.ts";
import { NODE_RUNTIMES } from "../node_versions.ts";

export { buildDist } from "./scenario_runner.ts";

/** One runtime a fixture can run on. */
export interface RuntimeTarget {
  /** "bun", "deno", "node20", "node22", "node24". */
  label: string;
  kind: "bun" | "deno" | "node";
  /** The SQLite driver sitq picks there. */
  driver: "bun:sqlite" | "node:sqlite" | "better-sqlite3";
  /** The command that runs `script` with `args`. */
  command(script: string, ...args: string[]): string[];
  /** Environment that tells the fixture where sitq is (SITQ_MODULE). */
  env: Record<string, string>;
}

const SOURCES = pathToFileURL(join(ROOT, "mod.ts")).href;
const BUILT = pathToFileURL(join(ROOT, "dist/mod.js")).href;

/** Bun, Deno, then every Node of {@linkcode NODE_RUNTIMES}. */
export const RUNTIMES: readonly RuntimeTarget[] = [
  {
    label: "bun",
    kind: "bun",
    driver: "bun:sqlite",
    command: (script, ...args) => [BIN.bun, script, ...args],
    env: { SITQ_MODULE: SOURCES },
  },
  {
    label: "deno",
    kind: "deno",
    driver: "node:sqlite",
    command: (script, ...args) => [BIN.deno, "run", "-A", script, ...args],
    env: { SITQ_MODULE: SOURCES },
  },
  ...NODE_RUNTIMES.map((node): RuntimeTarget => ({
    label: node.label,
    kind: "node",
    driver: node.driver,
    // node:sqlite's "experimental" warning is noise on stderr.
    command: (script, ...args) => [
      node.bin,
      "--disable-warning=ExperimentalWarning",
      script,
      ...args,
    ],
    env: { SITQ_MODULE: BUILT },
  })),
];

/** {@linkcode RUNTIMES} as `[label, target]` rows for `describe.each`. */
export const RUNTIME_ROWS: ReadonlyArray<readonly [string, RuntimeTarget]> =
  RUNTIMES.map((target) => [target.label, target] as const);
