/**
 * Starts another process of the runtime running this file, for scenarios
 * whose workers live in other processes.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "./runtime.js";

/**
 * Spawns `script` (a file URL) on this same runtime with `args`, stdout
 * piped and stderr inherited so a crashing child is visible.
 *
 * @param {URL} script
 * @param {string[]} args
 * @returns {import("node:child_process").ChildProcessByStdio<null, import("node:stream").Readable, null>}
 */
export function spawnSameRuntime(script, args) {
  const path = fileURLToPath(script);
  const g = /** @type {Record<string, any>} */ (globalThis);
  const [command, prefix] = runtimeName() === "deno"
    ? [g.Deno.execPath(), ["run", "-A"]]
    : [process.execPath, []];
  return spawn(command, [...prefix, path, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/**
 * Resolves when the child prints `line` on stdout; rejects if it exits
 * first or stays silent for `timeoutMs`.
 *
 * @param {import("node:child_process").ChildProcessByStdio<null, import("node:stream").Readable, null>} child
 * @param {string} line
 * @param {number} timeoutMs
 * @returns {Promise<void>}
 */
export function waitForLine(child, line, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(
      () => reject(new Error(`no "${line}" from child in ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (/** @type {string} */ chunk) => {
      buffer += chunk;
      if (buffer.split("\n").includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before "${line}"`));
    });
  });
}

/**
 * Sends SIGTERM and resolves when the child has exited.
 *
 * @param {import("node:child_process").ChildProcess} child
 * @returns {Promise<void>}
 */
export function terminate(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
