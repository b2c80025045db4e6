/**
 * Runs N worker processes and keeps them running: `sitq worker --processes
 * N`. Each child is the same CLI on the same runtime, running one worker in
 * its own process. A child that exits while the supervisor is not stopping
 * is started again after a backoff (250 ms, doubling per crash in a row up
 * to 30 s; a child that ran for a minute starts the count again). SIGINT or
 * SIGTERM sends SIGTERM to every child, whose worker stops gracefully
 * (running tasks finish within its shutdown timeout); once all have exited
 * the supervisor resolves 0. A second signal kills the children at once.
 * Children run in their own process group (a terminal's Ctrl-C reaches the
 * supervisor alone, which passes it on once), and stop gracefully by
 * themselves when the supervisor dies (their stdin, a pipe from it, ends).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { onShutdownSignal } from "../runtime/process.ts";

/** How to start child `index`. */
export interface ChildCommand {
  /** The executable (the runtime). */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment. */
  env?: Record<string, string>;
}

/** Options of {@linkcode supervise}. */
export interface SuperviseOptions {
  /** How many processes. */
  processes: number;
  /** The command of child `index` (0-based). */
  child(index: number): ChildCommand;
  /** Where the supervisor's own notes go (stderr). */
  note(text: string): void;
  /** First restart delay in ms (doubled per crash in a row). @default {250} */
  restartDelay?: number;
  /** Longest restart delay in ms. @default {30000} */
  maxRestartDelay?: number;
  /**
   * Exit codes that restarting cannot cure (a usage error: a bad option, a
   * module that breaks the contract): a child ending with one stops all
   * and the supervisor resolves with that code.
   */
  fatalExitCodes?: readonly number[];
}

const STABLE_AFTER = 60_000;

interface Slot {
  index: number;
  child?: ChildProcess;
  startedAt: number;
  crashes: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Starts the children and supervises them until SIGINT or SIGTERM.
 *
 * @returns 0 once every child has exited after a stop signal; a fatal
 * exit code once every child has exited after one ended with it.
 */
export function supervise(options: SuperviseOptions): Promise<number> {
  const { note } = options;
  const first = options.restartDelay ?? 250;
  const max = options.maxRestartDelay ?? 30_000;
  const slots: Slot[] = Array.from(
    { length: options.processes },
    (_, index) => ({ index, startedAt: 0, crashes: 0 }),
  );
  let stopping = false;
  let exitCode = 0;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => resolveDone = resolve);

  const finishIfIdle = () => {
    if (stopping && slots.every((slot) => slot.child === undefined)) {
      removeSignals();
      resolveDone(exitCode);
    }
  };

  const start = (slot: Slot) => {
    slot.timer = undefined;
    const { command, args, env } = options.child(slot.index);
    // Its own process group: Ctrl-C in a terminal signals the whole
    // foreground group, and a child that got SIGINT from the terminal and
    // then SIGTERM from here would take it as a second signal and stop at
    // once, interrupting its tasks. Its stdin is a pipe nobody writes to:
    // it ends when this process dies, however it dies, and the child then
    // stops by itself (commands/worker.ts) instead of running on orphaned.
    const child = spawn(command, args, {
      stdio: ["pipe", "inherit", "inherit"],
      env: { ...process.env, ...env },
      detached: true,
    });
    slot.child = child;
    slot.startedAt = Date.now();
    note(`sitq: worker process ${slot.index} started (pid ${child.pid})`);
    const onEnd = (code: number | null, signal: string | null) => {
      if (slot.child !== child) return;
      slot.child = undefined;
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      if (stopping) {
        note(`sitq: worker process ${slot.index} stopped (${how})`);
        finishIfIdle();
        return;
      }
      if (code !== null && options.fatalExitCodes?.includes(code)) {
        note(
          `sitq: worker process ${slot.index} exited with ${how}, which a restart cannot cure; stopping all`,
        );
        exitCode = code;
        stopAll();
        return;
      }
      if (Date.now() - slot.startedAt >= STABLE_AFTER) slot.crashes = 0;
      const delay = Math.min(max, first * 2 ** slot.crashes);
      slot.crashes++;
      note(
        `sitq: worker process ${slot.index} (pid ${child.pid}) exited with ${how}; restarting in ${delay} ms`,
      );
      slot.timer = setTimeout(() => start(slot), delay);
    };
    child.once("exit", onEnd);
    child.once("error", (error) => {
      note(
        `sitq: worker process ${slot.index} could not start: ${error.message}`,
      );
      onEnd(null, null);
    });
  };

  function stopAll(): void {
    stopping = true;
    for (const slot of slots) {
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.child?.kill("SIGTERM");
    }
    finishIfIdle();
  }

  const removeSignals = onShutdownSignal((signal) => {
    if (stopping) {
      note(`sitq: ${signal} again: killing the worker processes`);
      for (const slot of slots) slot.child?.kill("SIGKILL");
      return;
    }
    note(`sitq: ${signal}: stopping ${options.processes} worker processes`);
    stopAll();
  });

  for (const slot of slots) start(slot);
  return done;
}
