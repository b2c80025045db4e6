/**
 * Node runs sitq from dist/ (it cannot run the TypeScript source), so the
 * bench rebuilds dist/ with `npm run build` when it is missing or older
 * than the source.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Builds dist/mod.js if it is stale.
 *
 * @returns undefined when dist/ is ready, else why it is not.
 */
export function ensureSitqBuild(): string | undefined {
  const entry = join(ROOT, "dist", "mod.js");
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  // The entry points (mod.ts, backend.ts, postgres.ts) and everything
  // they import.
  const entries = ["mod.ts", "backend.ts", "postgres.ts"]
    .map((file) => join(ROOT, file))
    .filter((file) => existsSync(file));
  const newest = Math.max(
    ...entries.map((file) => statSync(file).mtimeMs),
    newestIn(join(ROOT, "lib")),
  );
  if (built >= newest) return undefined;
  console.error("dist/ is older than lib/: npm run build ...");
  const result = spawnSync("npm", ["run", "build"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
  });
  if (result.status === 0) return undefined;
  const output = `${result.stdout}\n${result.stderr}`.trim().split("\n");
  return `npm run build failed: ${output.slice(-3).join(" | ")}`;
}

function newestIn(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs,
    );
  }
  return newest;
}
