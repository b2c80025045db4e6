/**
 * Peers that declare a minimum Node version (`engines.node` in their
 * package.json) are not run on an older Node: their authors do not support
 * it there, so a figure from it would describe nothing a user can rely on.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { runtimeName } from "../common/runtime.js";

/**
 * Throws, naming both versions, when this is Node and older than the
 * `>=X.Y.Z` minimum that `pkg`'s package.json (in bench/node_modules)
 * declares. Bun and Deno are not checked: `engines.node` is about Node.
 *
 * @param {string} pkg a package name
 * @throws {Error} "pg-boss 12.38.0 requires Node >=22.12.0 (engines); this is Node 20.20.2"
 */
export function requireNodeEngine(pkg) {
  if (runtimeName() !== "node") return;
  const manifest = JSON.parse(readFileSync(
    new URL(`../node_modules/${pkg}/package.json`, import.meta.url),
    "utf8",
  ));
  const range = manifest.engines?.node;
  const minimum = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(range ?? "")?.[1];
  if (!minimum) return;
  if (compare(process.versions.node, minimum) >= 0) return;
  throw new Error(
    `${pkg} ${manifest.version} requires Node ${range} (engines); ` +
      `this is Node ${process.versions.node}`,
  );
}

/**
 * @param {string} a
 * @param {string} b
 */
function compare(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
