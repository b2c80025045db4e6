#!/usr/bin/env node
/**
 * `sitq`: the command line for a sitq queue, on a SQLite file or a
 * PostgreSQL URL. Inspect (`stats`, `list`, `show`, `workers`, `queues`,
 * `schedules`), manage (`retry`, `cancel`, `prune`, `pause`, `resume`,
 * `migrate`), run workers (`worker <module> --processes N`) and serve the
 * dashboard (`dashboard`). `sitq --help` lists every command and option;
 * `sitq completion` prints a bash/zsh completion script.
 *
 * Run it with `npx sitq`, `bunx sitq`, or `deno run -A jsr:@sitq/sitq/cli`
 * (`deno run -A cli.ts` in a checkout). The database is the positional
 * argument, `--db`, or the `SITQ_DATABASE` environment variable:
 *
 * ```sh
 * sitq stats tasks.db
 * sitq list tasks.db --status failed --json
 * sitq retry --db postgres://app@db/app --status failed --name email
 * SITQ_DATABASE=tasks.db sitq worker ./tasks.js --processes 4
 * ```
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 invalid state,
 * 5 database, 6 unsupported.
 *
 * @module
 */
import process from "node:process";
import { main } from "./lib/cli/main.ts";

// Runs on load: this module is the `sitq` executable, not a library. The
// exit is explicit so that a handle a driver left open cannot keep a
// finished command alive.
process.exit(await main(process.argv.slice(2), { entry: import.meta.url }));
