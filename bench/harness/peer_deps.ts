/**
 * The peers are bench/'s own devDependencies. A full run installs them
 * (`npm ci --prefix bench`) when they are missing; `--quick` never
 * installs, and the peers then report that they are not installed.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const BENCH = new URL("../", import.meta.url).pathname;

/**
 * Installs bench/node_modules from bench/package-lock.json if absent.
 *
 * @returns undefined when installed, else why not (the peers then skip).
 */
export function ensurePeerDeps(install: boolean): string | undefined {
  if (existsSync(join(BENCH, "node_modules", ".package-lock.json"))) {
    return undefined;
  }
  if (!install) return "bench/node_modules missing (--quick installs nothing)";
  console.error("installing the peers: npm ci --prefix bench ...");
  const result = spawnSync("npm", ["ci"], {
    cwd: BENCH,
    encoding: "utf8",
    timeout: 600_000,
  });
  if (result.status === 0) return undefined;
  const tail = `${result.stderr}`.trim().split("\n").slice(-2).join(" | ");
  return `npm ci --prefix bench failed: ${tail}`;
}
