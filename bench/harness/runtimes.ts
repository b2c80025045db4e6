/**
 * Finds the three runtimes and says how to run a script on each.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";

/** The runtimes sitq supports. */
export const RUNTIME_NAMES = ["bun", "deno", "node"] as const;
/** One of {@link RUNTIME_NAMES}. */
export type RuntimeName = typeof RUNTIME_NAMES[number];

/** How to run a script on one runtime, or why it cannot be. */
export type RuntimeCommand =
  | { name: RuntimeName; command: string; prefix: string[]; version: string }
  | { name: RuntimeName; missing: string };

const ROOT_BIN = new URL("../../node_modules/.bin/", import.meta.url).pathname;

/**
 * Locates a runtime: the project's own npm-installed copy first (bun and
 * deno are devDependencies), then PATH.
 */
export function findRuntime(name: RuntimeName): RuntimeCommand {
  const prefix = name === "deno" ? ["run", "-A"] : [];
  const candidates = [join(ROOT_BIN, name), ...onPath(name)];
  for (const command of candidates) {
    const version = probe(name, command);
    if (version) return { name, command, prefix, version };
  }
  return { name, missing: `${name} not found in node_modules/.bin or PATH` };
}

function onPath(name: string): string[] {
  return (process.env.PATH ?? "").split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .filter((file) => existsSync(file));
}

/**
 * Runs the candidate and returns its version if it is the runtime asked
 * for. `bun run` can put a `node` shim that is really Bun on PATH, so a
 * `node` must prove it is not Bun.
 */
function probe(name: RuntimeName, command: string): string | undefined {
  if (!existsSync(command)) return undefined;
  const script = "console.log(typeof Bun + ' ' + " +
    "(typeof Deno !== 'undefined' ? Deno.version.deno : process.versions.node))";
  const args = name === "deno" ? ["eval", script] : ["-e", script];
  const out = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (out.status !== 0) return undefined;
  const [bunType, version] = out.stdout.trim().split(" ");
  if (name === "node" && bunType !== "undefined") return undefined;
  if (name === "bun") {
    return spawnSync(command, ["--version"], { encoding: "utf8" }).stdout
      .trim();
  }
  return version;
}
