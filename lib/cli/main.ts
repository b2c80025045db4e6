/**
 * The `sitq` command line: parsing, help and shell completion by yargs,
 * each command's work in `commands/`. {@linkcode main} takes the arguments
 * and resolves with the exit code (see `errors.ts`), so that tests and
 * other entry points can run it without ending their process.
 *
 * @module
 */
import process from "node:process";
import yargs from "yargs";
import {
  type Args,
  dbAndRest,
  filterOptions,
  version,
  withFilters,
} from "./args.ts";
import type { QueueAdmin } from "../queue/queue_admin.ts";
import { type CommandContext, contextOf } from "./context.ts";
import { databaseSpec, openAdmin, openBackend } from "./database.ts";
import { CliError, describeError, EXIT, exitCodeOf } from "./errors.ts";
import { parseId, parseStatuses, splitList } from "./parse.ts";
import {
  listCommand,
  showCommand,
  statsCommand,
  workersCommand,
} from "./commands/read.ts";
import { changeCommand } from "./commands/manage.ts";
import {
  migrateCommand,
  pauseCommand,
  queuesCommand,
  scheduleActionCommand,
  schedulesCommand,
} from "./commands/control.ts";
import { workerCommand } from "./commands/worker.ts";
import { dashboardCommand } from "./commands/dashboard.ts";

/** Options of {@linkcode main}. */
export interface MainOptions {
  /**
   * The file URL of the script that runs the CLI (`import.meta.url` of
   * cli.ts): `worker --processes N` starts it again for each child.
   */
  entry: string;
}

/**
 * Runs the `sitq` command line on `args` (without the runtime and script)
 * and resolves with the exit code; prints to stdout and stderr.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * const code = await main(["stats", "tasks.db", "--json"], { entry: import.meta.url });
 * ```
 */
export async function main(
  args: readonly string[],
  options: MainOptions,
): Promise<number> {
  let code: number = EXIT.OK;
  const verbose = args.includes("--verbose") || args.includes("-v");

  /** A handler that opens the database, runs, and closes it. */
  const withAdmin = (
    work: (
      admin: QueueAdmin,
      argv: Args,
      ctx: CommandContext,
    ) => Promise<number | void>,
    db: (argv: Args) => string | undefined = (argv) => argv.db,
  ) =>
  async (argv: Args) => {
    const ctx = contextOf(argv);
    const admin = await openAdmin({ db: db(argv), schema: argv.schema });
    try {
      code = (await work(admin, argv, ctx)) ?? EXIT.OK;
    } finally {
      await admin.close();
    }
  };

  /** `retry`, `cancel` or `prune`: arguments checked before the database opens. */
  const change = (operation: "retry" | "cancel" | "prune") => (argv: Args) => {
    const { db, rest } = dbAndRest(argv, "tasks");
    const ids = rest.map(parseId);
    const filter = filterOptions(argv);
    return withAdmin(
      (admin, _argv, ctx) => changeCommand(admin, operation, ids, filter, ctx),
      () => db,
    )(argv);
  };

  const parser = yargs([...args])
    .scriptName("sitq")
    .usage(
      "$0 <command> [db] [options]\n\nInspect and manage a sitq queue: a SQLite file or a PostgreSQL URL (--db, or SITQ_DATABASE).",
    )
    .option("db", {
      alias: "d",
      type: "string",
      describe:
        "database: a SQLite path or postgres:// URL (default: $SITQ_DATABASE)",
    })
    .option("schema", {
      type: "string",
      describe: "PostgreSQL schema (default: sitq)",
    })
    .option("json", { type: "boolean", describe: "print JSON for scripts" })
    .option("verbose", {
      alias: "v",
      type: "boolean",
      describe: "show stacks with errors",
    })
    .option("progress", {
      type: "boolean",
      default: true,
      describe: "progress bars on a terminal (--no-progress: never)",
    })
    .command(
      "stats [db]",
      "count tasks per status, task name and queue",
      (y) => y.positional("db", { type: "string", describe: "path or URL" }),
      withAdmin((admin, _argv, ctx) => statsCommand(admin, ctx)),
    )
    .command(
      "list [db]",
      "list tasks, newest first",
      (y) =>
        y.positional("db", { type: "string" })
          .option("status", {
            type: "string",
            array: true,
            describe: "only these statuses",
          })
          .option("name", { type: "string", describe: "only this task name" })
          .option("queue", { type: "string", describe: "only this queue" })
          .option("limit", {
            type: "number",
            default: 50,
            describe: "tasks per page",
          })
          .option("after", {
            type: "string",
            describe: "the cursor printed after a page",
          }),
      withAdmin((admin, argv, ctx) => {
        const status = parseStatuses(argv.status as string[] | undefined);
        return listCommand(admin, {
          ...(status === undefined ? {} : { status }),
          ...(typeof argv.name === "string" ? { name: argv.name } : {}),
          ...(typeof argv.queue === "string" ? { queue: argv.queue } : {}),
          limit: argv.limit as number,
          ...(typeof argv.after === "string" ? { after: argv.after } : {}),
        }, ctx);
      }),
    )
    .command(
      "show <task..>",
      "show one task: arguments, result, error and stack, attempts, progress ([db] <id>)",
      (y) =>
        y.positional("task", {
          type: "string",
          array: true,
          describe: "[db] <id>",
        }),
      (argv: Args) => {
        const { db, rest } = dbAndRest(argv, "task");
        if (rest.length !== 1) {
          throw new CliError("show takes one task id", EXIT.USAGE, "USAGE");
        }
        const id = parseId(rest[0]!);
        return withAdmin(
          (admin, _argv, ctx) => showCommand(admin, id, ctx),
          () => db,
        )(argv);
      },
    )
    .command(
      "retry [tasks..]",
      "requeue failed or cancelled tasks, by id or by filter",
      (y) =>
        withFilters(y.positional("tasks", { type: "string", array: true })),
      change("retry"),
    )
    .command(
      "cancel [tasks..]",
      "cancel waiting, queued or running tasks, by id or by filter",
      (y) =>
        withFilters(y.positional("tasks", { type: "string", array: true })),
      change("cancel"),
    )
    .command(
      "prune [tasks..]",
      "delete finished tasks, by id or by filter (by filter, default statuses: completed, cancelled)",
      (y) =>
        withFilters(y.positional("tasks", { type: "string", array: true })),
      change("prune"),
    )
    .command(
      "pause <queue>",
      "pause a queue: workers stop claiming from it",
      (y) => y.positional("queue", { type: "string", demandOption: true }),
      withAdmin((admin, argv, ctx) =>
        pauseCommand(admin, argv.queue as string, true, ctx)
      ),
    )
    .command(
      "resume <queue>",
      "resume a paused queue",
      (y) => y.positional("queue", { type: "string", demandOption: true }),
      withAdmin((admin, argv, ctx) =>
        pauseCommand(admin, argv.queue as string, false, ctx)
      ),
    )
    .command(
      "queues [db]",
      "list queues with their settings and counts",
      (y) => y.positional("db", { type: "string" }),
      withAdmin((admin, _argv, ctx) => queuesCommand(admin, ctx)),
    )
    .command(
      "schedules [args..]",
      "list schedules ([db]); or pause, resume or remove one (pause <name>)",
      (y) =>
        y.positional("args", {
          type: "string",
          array: true,
          describe: "[db] | pause <name> | resume <name> | remove <name>",
        }),
      (argv: Args) => {
        const words = splitList(argv.args as string[] | undefined) ?? [];
        const action = words[0];
        if (action === "pause" || action === "resume" || action === "remove") {
          if (words.length !== 2) {
            throw new CliError(
              `schedules ${action} takes one schedule name`,
              EXIT.USAGE,
              "USAGE",
            );
          }
          return withAdmin((admin, _argv, ctx) =>
            scheduleActionCommand(admin, action, words[1]!, ctx)
          )(argv);
        }
        if (words.length > 1) {
          throw new CliError(
            "schedules takes [db], or pause|resume|remove <name>",
            EXIT.USAGE,
            "USAGE",
          );
        }
        const db = action === undefined || action === "list"
          ? argv.db
          : argv.db ?? action;
        return withAdmin(
          (admin, _argv, ctx) => schedulesCommand(admin, ctx),
          () => db,
        )(argv);
      },
    )
    .command(
      "migrate [db]",
      "create the database if missing and bring its schema up to date",
      (y) => y.positional("db", { type: "string" }),
      async (argv: Args) => {
        const ctx = contextOf(argv);
        const backend = await openBackend(databaseSpec(argv), {
          schema: argv.schema,
          create: true,
        });
        try {
          await migrateCommand(backend, ctx);
        } finally {
          await backend.close();
        }
      },
    )
    .command(
      "workers [db]",
      "list the live workers (any process) and queued work none handles",
      (y) => y.positional("db", { type: "string" }),
      withAdmin((admin, _argv, ctx) => workersCommand(admin, ctx)),
    )
    .command(
      "worker <module>",
      "run the tasks a module defines (its default export receives the queue)",
      (y) =>
        y.positional("module", { type: "string", demandOption: true })
          .option("processes", {
            alias: "p",
            type: "number",
            default: 1,
            describe: "worker processes",
          })
          .option("concurrency", {
            alias: "c",
            type: "number",
            describe: "tasks at once per process",
          })
          .option("queue", {
            type: "string",
            array: true,
            describe: "only these queues",
          })
          .option("shutdown-timeout", {
            type: "number",
            describe: "ms running tasks get to finish on stop",
          })
          .option("log", {
            type: "boolean",
            describe: "log worker activity to stderr",
          })
          .option("process-index", { type: "number", hidden: true }),
      async (argv: Args) => {
        const ctx = contextOf(argv);
        code = await workerCommand(
          argv.module as string,
          {
            ...(argv.db === undefined ? {} : { db: argv.db }),
            ...(argv.schema === undefined ? {} : { schema: argv.schema }),
            processes: argv.processes as number,
            ...(argv.concurrency === undefined
              ? {}
              : { concurrency: argv.concurrency as number }),
            ...(argv.queue === undefined
              ? {}
              : { queue: splitList(argv.queue as string[]) }),
            ...(argv.shutdownTimeout === undefined
              ? {}
              : { shutdownTimeout: argv.shutdownTimeout as number }),
            ...(argv.log === true ? { log: true } : {}),
            ...(argv.processIndex === undefined
              ? {}
              : { processIndex: argv.processIndex as number }),
          },
          ctx,
          options.entry,
        );
      },
    )
    .command(
      "dashboard [db]",
      "serve the web dashboard (127.0.0.1:8080 by default)",
      (y) =>
        y.positional("db", { type: "string" })
          .option("port", { type: "number", default: 8080 })
          .option("host", { type: "string", default: "127.0.0.1" })
          .option("token", {
            type: "string",
            describe: "protect every page with this token",
          })
          .option("actions", {
            type: "boolean",
            describe: "allow retry, cancel, pause... from the pages",
          }),
      withAdmin((admin, argv, ctx) =>
        dashboardCommand(admin, {
          port: argv.port as number,
          host: argv.host as string,
          ...(typeof argv.token === "string" ? { token: argv.token } : {}),
          actions: argv.actions === true,
        }, ctx)
      ),
    )
    .completion("completion", "print a shell completion script (bash, zsh)")
    .demandCommand(1, "give a command (sitq --help lists them)")
    .recommendCommands()
    .strict()
    .help()
    .alias("help", "h")
    .version(version())
    .epilog(
      "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 invalid state, 5 database, 6 unsupported.",
    )
    .wrap(null)
    .exitProcess(false)
    .fail((message, error) => {
      if (error !== undefined && error !== null) throw error;
      throw new CliError(
        message.startsWith("Did you mean")
          ? `unknown command; ${message}`
          : message,
        EXIT.USAGE,
        "USAGE",
      );
    });

  try {
    await parser.parseAsync();
  } catch (error) {
    process.stderr.write(`${describeError(error, verbose)}\n`);
    return exitCodeOf(error);
  }
  return code;
}
