/**
 * `sitq worker <module>`: runs the tasks a module defines (see
 * `worker_module.ts` for the contract). With `--processes 1` (the default)
 * the worker runs in this process until SIGINT or SIGTERM, then stops
 * gracefully and exits 0. With `--processes N` this process supervises N
 * children, each the same command with `--processes 1`
 * (`supervisor.ts`).
 *
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../core/logger.ts";
import { TaskQueue } from "../../queue/task_queue.ts";
import { detectRuntime } from "../../runtime/runtime.ts";
import type { WorkerOptions } from "../../worker/types.ts";
import type { CommandContext } from "../context.ts";
import { databaseSpec, type DatabaseTarget, openBackend } from "../database.ts";
import { CliError, EXIT } from "../errors.ts";
import { type ChildCommand, supervise } from "../supervisor.ts";
import { loadWorkerModule, moduleUrl } from "../worker_module.ts";
import { toJsonValue } from "../format.ts";

/** The options of `sitq worker`. */
export interface WorkerCommandOptions extends DatabaseTarget {
  /** How many worker processes. @default {1} */
  processes?: number;
  /** Tasks run at once per process. @default {1} */
  concurrency?: number;
  /** Only these queues (named queues). */
  queue?: string[];
  /** ms a stop lets running tasks finish. @default {30000} */
  shutdownTimeout?: number;
  /** Log the worker's activity (info and up) to stderr. */
  log?: boolean;
  /** Set on the children of a supervisor: their index. */
  processIndex?: number;
}

/** Runs `sitq worker`; resolves with the exit code. */
export async function workerCommand(
  spec: string,
  options: WorkerCommandOptions,
  ctx: CommandContext,
  entry: string,
): Promise<number> {
  const processes = options.processes ?? 1;
  if (!Number.isInteger(processes) || processes < 1) {
    throw new CliError(
      "--processes must be an integer >= 1",
      EXIT.USAGE,
      "USAGE",
    );
  }
  const db = databaseSpec(options);
  if (processes === 1) return await runWorker(spec, db, options, ctx);
  // A missing file is found here, once; the module is not imported here
  // (its top-level code is the children's to run). A child that cannot
  // load it exits 2 or 3, which the supervisor does not restart.
  const url = moduleUrl(spec);
  if (url.startsWith("file:") && !existsSync(fileURLToPath(url))) {
    throw new CliError(
      `no worker module at ${spec}`,
      EXIT.NOT_FOUND,
      "NOT_FOUND",
    );
  }
  const args = [
    "worker",
    url,
    "--db",
    db,
    "--processes",
    "1",
    ...(options.schema === undefined ? [] : ["--schema", options.schema]),
    ...(options.concurrency === undefined
      ? []
      : ["--concurrency", String(options.concurrency)]),
    ...(options.shutdownTimeout === undefined
      ? []
      : ["--shutdown-timeout", String(options.shutdownTimeout)]),
    ...(options.queue ?? []).flatMap((q) => ["--queue", q]),
    ...(options.log === true ? ["--log"] : []),
  ];
  return await supervise({
    processes,
    note: ctx.note,
    fatalExitCodes: [EXIT.USAGE, EXIT.NOT_FOUND],
    child: (index) =>
      childCommand(entry, [...args, "--process-index", String(index)]),
  });
}

/**
 * The command that runs the CLI at `entry` (its file URL) with `args` on
 * the runtime running now.
 */
export function childCommand(entry: string, args: string[]): ChildCommand {
  const script = fileURLToPath(entry);
  if (detectRuntime() === "deno") {
    const deno = (globalThis as unknown as { Deno: { execPath(): string } })
      .Deno;
    return { command: deno.execPath(), args: ["run", "-A", script, ...args] };
  }
  return {
    command: process.execPath,
    args: [...process.execArgv, script, ...args],
  };
}

function stderrLogger(): Logger {
  // pino's argument order, which sitq's Logger follows: data, then message.
  const write = (level: string) => (data: object, message?: string) =>
    void process.stderr.write(
      `${new Date().toISOString()} ${level} ${message ?? ""} ${
        JSON.stringify(toJsonValue(data))
      }\n`,
    );
  return { info: write("info"), warn: write("warn"), error: write("error") };
}

async function runWorker(
  spec: string,
  db: string,
  options: WorkerCommandOptions,
  ctx: CommandContext,
): Promise<number> {
  const module = await loadWorkerModule(spec);
  const backend = await openBackend(db, {
    schema: options.schema,
    create: true,
  });
  const queue = new TaskQueue(
    backend,
    module.serializer === undefined ? {} : { serializer: module.serializer },
  );
  try {
    await module.setup(queue, { processIndex: options.processIndex ?? 0 });
    const workerOptions: Partial<WorkerOptions> & { queues?: string[] } = {};
    if (options.concurrency !== undefined) {
      workerOptions.concurrency = options.concurrency;
    }
    if (options.shutdownTimeout !== undefined) {
      workerOptions.shutdownTimeout = options.shutdownTimeout;
    }
    if (options.queue !== undefined) workerOptions.queues = options.queue;
    if (options.log === true) workerOptions.logger = stderrLogger();
    const worker = queue.worker(workerOptions);
    const running = worker.run();
    if (options.processIndex !== undefined) {
      // Supervised: stdin is a pipe from the supervisor that ends when it
      // dies (supervisor.ts); then stop as if it had sent SIGTERM.
      const orphaned = () => void worker.stop();
      process.stdin.once("end", orphaned);
      process.stdin.once("close", orphaned);
      process.stdin.resume();
    }
    ctx.note(
      `sitq: worker ${worker.id} running ${
        worker.taskNames.join(", ")
      } (pid ${process.pid})`,
    );
    const reason = await running;
    ctx.note(`sitq: worker ${worker.id} stopped (${reason})`);
    return EXIT.OK;
  } finally {
    await queue.close();
  }
}
