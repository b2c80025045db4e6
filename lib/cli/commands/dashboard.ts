/**
 * `sitq dashboard`: serves the web dashboard of `sitq/dashboard`
 * (`createDashboard(queue, options)`) on 127.0.0.1 by default, until
 * SIGINT or SIGTERM, through `node:http` (which Bun, Deno and Node all
 * have) and the dashboard's own `toNodeListener` adapter. The dashboard
 * module is loaded only by this command.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { QueueAdmin } from "../../queue/queue_admin.ts";
import { onShutdownSignal } from "../../runtime/process.ts";
import type { CommandContext } from "../context.ts";
import { EXIT } from "../errors.ts";

/** The options of `sitq dashboard`. */
export interface DashboardCommandOptions {
  /** The port; 0 picks a free one. @default {8080} */
  port?: number;
  /** The interface. @default {"127.0.0.1"} */
  host?: string;
  /** A token that protects every page. */
  token?: string;
  /** Allow retry, cancel, requeue, pause and prune from the pages. */
  actions?: boolean;
}

/**
 * Serves the dashboard until SIGINT or SIGTERM; resolves 0 then. Prints
 * its URL (with `--json`, `{ "url": ... }`) once it listens.
 */
export async function dashboardCommand(
  admin: QueueAdmin,
  options: DashboardCommandOptions,
  ctx: CommandContext,
): Promise<number> {
  const { createDashboard, toNodeListener } = await import(
    "../../../dashboard.ts"
  );
  const handler = createDashboard(admin, {
    ...(options.token === undefined ? {} : { token: options.token }),
    actions: options.actions === true,
  });
  const host = options.host ?? "127.0.0.1";
  const server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/`;
  if (ctx.json) ctx.printJson({ url });
  else ctx.print(`sitq dashboard on ${url}`);
  await new Promise<void>((resolve) => {
    const remove = onShutdownSignal(() => {
      remove();
      resolve();
    });
  });
  // Live-update streams stay open: end them rather than wait for them.
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return EXIT.OK;
}
