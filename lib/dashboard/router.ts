/**
 * `createDashboard`: the Web-standard request handler that serves the
 * dashboard's pages, JSON endpoints, static files, login and actions under
 * a prefix, with the security headers on every response.
 *
 * @module
 */
import type { QueueAdmin } from "../queue/queue_admin.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from "../ops/metrics.ts";
import { ACTIONS, runAction } from "./actions.ts";
import { loadAssets } from "./assets.ts";
import { type Access, Guard, sameOrigin, SESSION_COOKIE } from "./auth.ts";
import {
  detail,
  readListFilter,
  readOverview,
  readTaskList,
  readThroughput,
  summarize,
  type Throughput,
} from "./data.ts";
import { EventHub } from "./events.ts";
import { html } from "./html.ts";
import { noticeText, type PageContext, plainPage } from "./layout.ts";
import {
  type DashboardOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.ts";
import { listPage, overviewPage, queuesPage } from "./pages.ts";
import { schedulesPage, workersPage } from "./schedules_workers_pages.ts";
import { describeError, headers, json, page, redirect } from "./responses.ts";
import { taskPage } from "./task_page.ts";

/** The dashboard's state for one `createDashboard` call. */
class Dashboard {
  readonly #queue: QueueAdmin;
  readonly #options: ResolvedOptions;
  readonly #guard: Guard;
  readonly #base: string;
  readonly #events: EventHub;
  #chart: { at: number; value: Promise<Throughput> } | undefined;

  constructor(queue: QueueAdmin, options: ResolvedOptions) {
    this.#queue = queue;
    this.#options = options;
    this.#guard = new Guard(options.token);
    this.#base = `${options.prefix}/`;
    this.#events = new EventHub((listener) => queue.subscribe(listener));
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const prefix = this.#options.prefix;
    if (prefix !== "" && url.pathname === prefix) return redirect(this.#base);
    if (!url.pathname.startsWith(this.#base)) return this.#notFound();
    const path = url.pathname.slice(this.#base.length).replace(/\/+$/, "");
    const method = request.method.toUpperCase();
    try {
      if (
        path.startsWith("assets/") && (method === "GET" || method === "HEAD")
      ) {
        return await this.#asset(path.slice("assets/".length));
      }
      if (path === "login") return await this.#login(request, method);
      const access = await this.#guard.access(request);
      if (access === "denied") return this.#denied(path);
      if (method === "POST") return await this.#post(request, path, access);
      if (method !== "GET" && method !== "HEAD") {
        return new Response("Method Not Allowed", {
          status: 405,
          headers: headers("text/plain", { allow: "GET, HEAD, POST" }),
        });
      }
      return await this.#get(url, path, access, request.signal);
    } catch (error) {
      const { status, message, code } = describeError(error);
      if (path.startsWith("api/")) {
        return json({ error: message, code }, status);
      }
      return this.#errorPage(status, message, code);
    }
  }

  #context(url: URL, access: Access): PageContext {
    return {
      base: this.#base,
      csrf: this.#guard.csrf,
      actions: this.#options.actions,
      refreshMs: this.#options.refreshInterval,
      loggedIn: access === "cookie",
      notice: noticeText(url.searchParams),
    };
  }

  async #get(
    url: URL,
    path: string,
    access: Access,
    signal: AbortSignal,
  ): Promise<Response> {
    const ctx = this.#context(url, access);
    const queue = this.#queue;
    if (path === "") {
      return page(overviewPage(ctx, await readOverview(queue)));
    }
    if (path === "tasks") {
      const filter = readListFilter(url.searchParams);
      return page(
        listPage(ctx, filter, await readTaskList(queue, filter)),
      );
    }
    const taskMatch = /^tasks\/([1-9][0-9]{0,15})$/.exec(path);
    if (taskMatch) {
      return page(taskPage(ctx, await queue.getTask(Number(taskMatch[1]))));
    }
    if (path === "queues") {
      return page(queuesPage(ctx, await queue.queues.list()));
    }
    if (path === "schedules") {
      return page(schedulesPage(ctx, await queue.schedules.list()));
    }
    if (path === "workers") {
      return page(workersPage(ctx, await queue.workers()));
    }
    if (path === "api/overview") {
      return json(await readOverview(queue));
    }
    if (path === "api/throughput") return json(await this.#throughput());
    if (path === "api/tasks") {
      const list = await readTaskList(queue, readListFilter(url.searchParams));
      return json({
        tasks: list.tasks.map(summarize),
        nextCursor: list.nextCursor ?? null,
      });
    }
    const apiTask = /^api\/tasks\/([1-9][0-9]{0,15})$/.exec(path);
    if (apiTask) return json(detail(await queue.getTask(Number(apiTask[1]))));
    if (path === "metrics") return await this.#metrics();
    if (path === "api/events") {
      return new Response(await this.#events.open(signal), {
        headers: headers("text/event-stream; charset=utf-8", {
          // Proxies that buffer would hold the events back.
          "x-accel-buffering": "no",
        }),
      });
    }
    return this.#notFound();
  }

  /**
   * The chart's series, read at most every 5 s however many pages are open
   * (it reads up to THROUGHPUT_SAMPLE tasks).
   */
  #throughput(): Promise<Throughput> {
    const now = Date.now();
    if (this.#chart === undefined || now - this.#chart.at > 5000) {
      const value = readThroughput(this.#queue);
      this.#chart = { at: now, value };
      // A failed read is not kept.
      value.catch(() => {
        if (this.#chart?.value === value) this.#chart = undefined;
      });
    }
    return this.#chart.value;
  }

  async #metrics(): Promise<Response> {
    const make = this.#options.metrics;
    if (make === false) return this.#notFound();
    const text = make === true
      ? await prometheusMetrics(this.#queue)
      : await make();
    return new Response(text, { headers: headers(PROMETHEUS_CONTENT_TYPE) });
  }

  async #post(
    request: Request,
    path: string,
    access: Access,
  ): Promise<Response> {
    const form = await request.formData().catch(() => new FormData());
    // A bearer header is never sent by a browser on its own: such a request
    // cannot be forged by another site's page.
    if (access !== "bearer") {
      const token = form.get("csrf");
      if (
        !sameOrigin(request, this.#options.trustedOrigins) ||
        typeof token !== "string" || token !== this.#guard.csrf
      ) {
        return this.#errorPage(
          403,
          "This request did not come from the dashboard's own page (origin or CSRF token missing).",
        );
      }
    }
    if (path === "logout") {
      return redirect(`${this.#base}login`, {
        "set-cookie":
          `${SESSION_COOKIE}=; Path=${this.#base}; HttpOnly; SameSite=Strict; Max-Age=0`,
      });
    }
    const action = /^actions\/([a-z-]+)$/.exec(path)?.[1];
    if (
      action === undefined || !(ACTIONS as readonly string[]).includes(action)
    ) {
      return this.#notFound();
    }
    if (!this.#options.actions) {
      return this.#errorPage(
        403,
        "The dashboard is read-only (start it with actions: true).",
      );
    }
    const outcome = await runAction(this.#queue, action, form);
    const target = this.#backTo(request, form.get("back"));
    target.searchParams.set("notice", outcome.notice);
    if (outcome.count !== undefined) {
      target.searchParams.set("n", String(outcome.count));
    }
    return redirect(target.pathname + target.search);
  }

  /** Where an action returns: `back`, if it names a page of the dashboard. */
  #backTo(request: Request, back: FormDataEntryValue | null): URL {
    const fallback = new URL(this.#base, request.url);
    if (typeof back !== "string" || /^[\/\\]|:|\/\//.test(back)) {
      return fallback;
    }
    const url = new URL(this.#base + back, request.url);
    return url.origin === fallback.origin && url.pathname.startsWith(this.#base)
      ? url
      : fallback;
  }

  async #login(request: Request, method: string): Promise<Response> {
    if (!this.#guard.protected) return redirect(this.#base);
    let failed = false;
    if (method === "POST") {
      const form = await request.formData().catch(() => new FormData());
      const candidate = form.get("token");
      if (!sameOrigin(request, this.#options.trustedOrigins)) {
        return this.#errorPage(
          403,
          "The login did not come from the dashboard's own page.",
        );
      }
      if (typeof candidate === "string" && this.#guard.matches(candidate)) {
        return redirect(this.#base, {
          "set-cookie": `${SESSION_COOKIE}=${await this.#guard
            .session()}; Path=${this.#base}; HttpOnly; SameSite=Strict`,
        });
      }
      failed = true;
    }
    return page(
      plainPage(
        { base: this.#base },
        "log in",
        html`<form method="post" action="${this.#base}login" class="login">
  <h1>sitq dashboard</h1>
  ${
          failed
            ? html`
              <p
                class="error"><span class="message" data-testid="login-error">That token is not right.</span></p>
            `
            : ""
        }
  <label>Token <input type="password" name="token" autocomplete="current-password" autofocus data-testid="token"></label>
  <button class="btn" type="submit" data-testid="login">Log in</button>
</form>`,
      ),
      failed ? 401 : 200,
    );
  }

  #denied(path: string): Response {
    const extra = { "www-authenticate": 'Bearer realm="sitq"' };
    if (path.startsWith("api/") || path === "metrics") {
      return new Response(JSON.stringify({ error: "unauthorized" }), {
        status: 401,
        headers: headers("application/json; charset=utf-8", extra),
      });
    }
    return page(
      plainPage(
        { base: this.#base },
        "log in",
        html`
          <div
            class="login"><h1>sitq dashboard</h1><p>This dashboard needs its token.</p><a class="btn" href="${this
              .#base}login" data-testid="go-login">Log in</a></div>
        `,
      ),
      401,
      extra,
    );
  }

  async #asset(name: string): Promise<Response> {
    const asset = (await loadAssets())[name];
    if (asset === undefined) return this.#notFound();
    return new Response(asset.body, {
      headers: headers(asset.type, { "cache-control": "public, max-age=3600" }),
    });
  }

  #notFound(): Response {
    return this.#errorPage(404, "There is no such page.");
  }

  #errorPage(status: number, message: string, code?: string): Response {
    return page(
      plainPage(
        { base: this.#base },
        `error ${status}`,
        html`<div class="login"><h1>${
          status === 404 ? "Not found" : `Error ${status}`
        }</h1>
<p class="error"><span class="message" data-testid="error-message">${message}</span>${
          code
            ? html`
              <code>${code}</code>
            `
            : ""
        }</p>
<a href="${this.#base}">Back to the overview</a></div>`,
      ),
      status,
    );
  }
}

/**
 * Creates the sitq dashboard as a Web-standard request handler: pages for
 * the overview (counts per status, task name and queue, a throughput
 * chart), filtered task lists with paging, a task's page (arguments,
 * result, error and stack, attempts, progress), queues, schedules and
 * workers, kept live by server-sent events (`queue.subscribe`) and
 * polling; JSON under `<prefix>/api/`; Prometheus
 * text under `<prefix>/metrics`. Read-only unless `actions` is true;
 * protected by `token` when given. Stored values are always escaped, and
 * every response carries a strict Content-Security-Policy.
 *
 * Mount it anywhere that speaks `Request`/`Response`: `Deno.serve`,
 * `Bun.serve`, Hono (`app.all("/admin/queue/*", (c) => dashboard(c.req.raw))`),
 * or `node:http` through {@linkcode toNodeListener}.
 *
 * @example
 * ```ts
 * import { QueueAdmin, SQLiteBackend } from "sitq";
 * import { createDashboard } from "sitq/dashboard";
 *
 * const admin = new QueueAdmin(new SQLiteBackend(":memory:")); // or "tasks.db"
 * const dashboard = createDashboard(admin, { prefix: "/admin/queue" });
 * const response = await dashboard(new Request("http://localhost/admin/queue/"));
 * console.log(response.status); // 200
 * await admin.close();
 * ```
 *
 * @param queue The queue to show: a `QueueAdmin` (or a `TaskQueue`) on the
 * database, with the serializer the tasks were enqueued with.
 * @param options Prefix, token, actions, refresh period, trusted origins,
 * metrics.
 * @returns The handler: never rejects; errors become error pages (400 for
 * bad input, 401 without the token, 403 for a refused action, 404, 409 for
 * an action the task's state forbids, 500).
 * @throws {TypeError} If an option is invalid.
 */
export function createDashboard(
  queue: QueueAdmin,
  options: DashboardOptions = {},
): (request: Request) => Promise<Response> {
  const dashboard = new Dashboard(queue, resolveOptions(options));
  return (request) => dashboard.handle(request);
}
