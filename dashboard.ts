/**
 * `sitq/dashboard`: a web dashboard for a sitq queue, as a Web-standard
 * `(Request) => Promise<Response>` handler to mount in any server
 * (`Deno.serve`, `Bun.serve`, Hono, or `node:http` through
 * {@linkcode toNodeListener}), under a path prefix.
 *
 * It shows counts per status, task name and queue with a throughput chart,
 * filtered and paged task lists, a task's arguments, result, error and
 * stack, attempts and progress, queues, schedules and workers, kept live
 * without reloading. It is read-only unless `actions: true` (retry, cancel,
 * bulk retry, pause/resume queues and schedules, prune); a `token`
 * protects it. Stored values are escaped, never rendered as HTML, and every
 * response carries a strict Content-Security-Policy.
 *
 * @example Serve it with Bun, Deno or Node
 * ```ts
 * import { QueueAdmin, SQLiteBackend } from "sitq";
 * import { createDashboard } from "sitq/dashboard";
 *
 * const admin = new QueueAdmin(new SQLiteBackend(":memory:")); // or "tasks.db"
 * const dashboard = createDashboard(admin, {
 *   prefix: "/admin/queue",
 *   actions: true,
 *   token: "change me",
 * });
 * // Deno.serve({ hostname: "127.0.0.1", port: 8080 }, dashboard);
 * // Bun.serve({ hostname: "127.0.0.1", port: 8080, fetch: dashboard });
 * // createServer(toNodeListener(dashboard)).listen(8080, "127.0.0.1");
 * const response = await dashboard(new Request("http://localhost/admin/queue/"));
 * console.log(response.status); // 401: the token is needed
 * await admin.close();
 * ```
 *
 * @module
 */
export { createDashboard } from "./lib/dashboard/router.ts";
export { CONTENT_SECURITY_POLICY } from "./lib/dashboard/responses.ts";
export type { DashboardOptions } from "./lib/dashboard/options.ts";
export { toNodeListener, toWebRequest } from "./lib/dashboard/node.ts";
export type { NodeListener } from "./lib/dashboard/node.ts";
