/**
 * Claims across processes: child processes of the runtime running the suite
 * (tests/fixtures/conformance_claimer.mjs) race this process for one
 * backlog, and each task is claimed once.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Suite } from "./harness.ts";
import { expectEachClaimedOnce, raceClaimers } from "./claims.ts";
import * as rows from "./rows.ts";
import { LONG_LEASE, T0 } from "./rows.ts";

const CLAIMER = fileURLToPath(
  new URL("../fixtures/conformance_claimer.mjs", import.meta.url),
);

/** A child process and everything it printed so far. */
export interface Claimer {
  proc: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/** The command that runs `script` on the runtime running this code. */
function sameRuntime(script: string): string[] {
  const deno = (globalThis as { Deno?: unknown }).Deno;
  return deno === undefined
    ? [process.execPath, script]
    : [process.execPath, "run", "-A", script];
}

/**
 * Starts a fixture of tests/fixtures/ (default: the claimer) on this
 * runtime with `config` as its JSON argument.
 */
export function spawnClaimer(
  config: object,
  sitqModule: string,
  script: string = CLAIMER,
): Claimer {
  const [command, ...args] = sameRuntime(script);
  const proc = spawn(command!, [...args, JSON.stringify(config)], {
    env: { ...process.env, SITQ_MODULE: sitqModule },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const claimer: Claimer = {
    proc,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => proc.on("close", resolve)),
  };
  proc.stdout!.on("data", (chunk) => (claimer.stdout += String(chunk)));
  proc.stderr!.on("data", (chunk) => (claimer.stderr += String(chunk)));
  return claimer;
}

/** What `claimer` printed, for a failure message. */
export function describeClaimer(claimer: Claimer): string {
  return `stdout: ${claimer.stdout}\nstderr: ${claimer.stderr}`;
}

/** Resolves once `claimer` printed "ready"; rejects if it exits first. */
export async function ready(claimer: Claimer): Promise<void> {
  let exited = false;
  void claimer.exited.then(() => (exited = true));
  while (!claimer.stdout.includes("ready\n")) {
    if (exited) {
      throw new Error(`claimer exited early\n${describeClaimer(claimer)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The ids `claimer` printed, once it exited with code 0. */
async function claimedBy(claimer: Claimer): Promise<number[]> {
  const code = await claimer.exited;
  const line = claimer.stdout.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || line === undefined) {
    throw new Error(`claimer exited with ${code}\n${describeClaimer(claimer)}`);
  }
  return (JSON.parse(line) as { claimed: number[] }).claimed;
}

/** Registers the cross-process claim tests (for stores processes can open). */
export function claimProcessTests({ test, factory }: Suite): void {
  if (!factory.processes) return;
  test(
    "three processes and this one racing for 300 tasks each claim a task at most once",
    async (t) => {
      const store = t.store();
      const ids = await store.backend.insertTasks(
        rows.tasks(300),
      );
      const children = [1, 2, 3].map((n) =>
        spawnClaimer({
          store: store.spec,
          workerId: `w${n}`,
          limit: 4,
          now: T0,
          leaseDuration: LONG_LEASE,
        }, t.sitqModule)
      );
      t.defer(() => {
        for (const child of children) child.proc.kill("SIGKILL");
      });
      await Promise.all(children.map(ready));
      // All start at once: the line on stdin is the starting gun.
      for (const child of children) child.proc.stdin!.end("go\n");
      const [mine] = await raceClaimers([store.backend], 4);
      const theirs = await Promise.all(children.map(claimedBy));
      await expectEachClaimedOnce(store.backend, ids, [mine!, ...theirs]);
    },
    { timeout: 60_000 },
  );
}
