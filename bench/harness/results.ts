/**
 * Writes a run's results as JSON: one file per run and `latest.json`.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes `payload` to `<dir>/<timestamp>.json` and `<dir>/latest.json`.
 *
 * @returns the timestamped file's path.
 */
export function writeResults(
  dir: string,
  startedAt: Date,
  payload: unknown,
): string {
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const text = JSON.stringify(payload, null, 2) + "\n";
  const file = join(dir, `${stamp}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, "latest.json"), text);
  return file;
}
