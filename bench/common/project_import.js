/**
 * Imports a package as the sitq project itself resolves it (from the
 * repository's root node_modules), not as bench/ does. bench/ pins an older
 * better-sqlite3 for liteque; the floor and the other peers must use the
 * same driver build as sitq so the comparison is fair.
 *
 * @module
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const rootRequire = createRequire(
  new URL("../../package.json", import.meta.url),
);

/**
 * Imports `specifier` resolved from the repository root, falling back to
 * the ordinary resolution (bench/node_modules) when the root lacks it.
 *
 * @param {string} specifier a bare package name
 * @returns {Promise<any>} the module namespace
 */
export async function importAsProject(specifier) {
  let resolved;
  try {
    resolved = rootRequire.resolve(specifier);
  } catch {
    return await import(specifier);
  }
  return await import(pathToFileURL(resolved).href);
}
