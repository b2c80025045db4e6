/**
 * Which JavaScript runtime is executing this file. Bench child scripts are
 * plain ESM so that Node 20, which cannot run TypeScript, runs them as is.
 *
 * @module
 */

/**
 * Names the running runtime from its globals, never from imports, so the
 * check itself loads nothing runtime-specific.
 *
 * @returns {"bun" | "deno" | "node"}
 */
export function runtimeName() {
  if ("Bun" in globalThis) return "bun";
  if ("Deno" in globalThis) return "deno";
  return "node";
}

/**
 * The runtime's own version string, for the results file.
 *
 * @returns {string}
 */
export function runtimeVersion() {
  const g = /** @type {Record<string, any>} */ (globalThis);
  if ("Bun" in g) return g.Bun.version;
  if ("Deno" in g) return g.Deno.version.deno;
  return g.process.versions.node;
}
