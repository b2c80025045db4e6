/**
 * Runs one bench child process and collects the JSON records it prints.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";

/** The marker child scripts put before each record (common/report.js). */
const RESULT_MARKER = "@@sitq-bench ";

/** One record a child printed: a result or a skip. */
export interface ChildRecord {
  kind: "result" | "skip";
  runtime: string;
  runtime_version?: string;
  scenario: string;
  subject: string;
  ops?: number;
  seconds?: number;
  per_second?: number;
  p50_ms?: number;
  p99_ms?: number;
  /** CPU time (user + system) per op of the measured part, in µs. */
  cpu_us_per_op?: number;
  note?: string;
  reason?: string;
  fatal?: boolean;
  extra?: Record<string, unknown>;
}

/** What came back from a child. */
export interface ChildOutcome {
  records: ChildRecord[];
  exitCode: number | null;
  timedOut: boolean;
  /** The end of stderr, to explain a failure. */
  stderrTail: string;
}

/**
 * Spawns `command args`, parses marked stdout lines, and kills the child if
 * it outlives `timeoutMs`. Never rejects: failures are in the outcome.
 */
export function runChild(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number },
): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      // Own process group, so a timeout can kill the child's children too.
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    const finish = (exitCode: number | null) => {
      clearTimeout(timer);
      resolve({
        records: parseRecords(stdout),
        exitCode,
        timedOut,
        stderrTail: tailWithError(stderr),
      });
    };
    child.on("error", (error) => {
      stderr += String(error);
      finish(null);
    });
    child.on("close", (code) => finish(code));
  });
}

/** Deno colours its error output. */
const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/**
 * The last lines of stderr, led by the last error message when the stack
 * under it has pushed that message out of the last lines.
 */
function tailWithError(stderr: string): string {
  const lines = stderr.replace(ANSI_COLOR, "").trim().split("\n");
  const tail = lines.slice(-6);
  const message = lines.findLast((line) =>
    /^\s*(error:|\w*Error\b)/.test(line) && !/^\s+at /.test(line)
  );
  if (message === undefined || tail.includes(message)) return tail.join("\n");
  return [message, ...tail.slice(-4)].join("\n");
}

function parseRecords(stdout: string): ChildRecord[] {
  return stdout.split("\n")
    .filter((line) => line.startsWith(RESULT_MARKER))
    .map((line) => JSON.parse(line.slice(RESULT_MARKER.length)));
}

function killGroup(pid: number | undefined) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
