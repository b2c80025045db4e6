/**
 * A scratch directory per measurement, so every run starts from an empty
 * database file and leaves nothing behind.
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `fn` with a fresh directory and removes it afterwards, even on error.
 *
 * @template T
 * @param {(dir: string) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withTempDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), "sitq-bench-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
