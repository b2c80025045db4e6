/**
 * The frame every dashboard page shares: head (stylesheet, scripts, all
 * from the dashboard's own routes), navigation, notices, and the small
 * building blocks pages reuse (status badges, action forms, tables).
 *
 * @module
 */
import { TASK_STATUSES } from "../core/statuses.ts";
import type { TaskStatus } from "../core/types.ts";
import { type Html, html, type HtmlValue } from "./html.ts";

/** What every page needs to know about the request and the dashboard. */
export interface PageContext {
  /** The dashboard's root path, ending in "/": links are built on it. */
  base: string;
  /** The CSRF token for forms. */
  csrf: string;
  /** Whether actions are on. */
  actions: boolean;
  /** Live refresh period, ms. */
  refreshMs: number;
  /** Whether a logout button is shown (logged in with the cookie). */
  loggedIn: boolean;
  /** A notice to show at the top (after an action). */
  notice?: string;
  /** The page title shown in the browser tab after "sitq". */
  title?: string;
}

/** The fixed notices actions redirect with (`?notice=<code>&n=<count>`). */
const NOTICES: Record<string, (n: string) => string> = {
  retried: () => "Task queued again.",
  cancelled: () => "Task cancelled.",
  paused: () => "Queue paused.",
  resumed: () => "Queue resumed.",
  "schedule-paused": () => "Schedule paused.",
  "schedule-resumed": () => "Schedule resumed.",
  "schedule-removed": () => "Schedule removed.",
  pruned: (n) => `Deleted ${n} finished task(s).`,
  "bulk-retried": (n) => `Queued ${n} task(s) again.`,
  "bulk-cancelled": (n) => `Cancelled ${n} task(s).`,
};

/** The notice text for a redirect's query, if it names one. */
export function noticeText(params: URLSearchParams): string | undefined {
  const code = params.get("notice");
  const n = params.get("n") ?? "";
  if (code === null) return undefined;
  const make = NOTICES[code];
  return make?.(/^[0-9]{1,12}$/.test(n) ? n : "?");
}

/** A status as a coloured badge. */
export function badge(status: TaskStatus | string): Html {
  const known = (TASK_STATUSES as readonly string[]).includes(status)
    ? status
    : "other";
  return html`<span class="badge s-${known}" data-status="${status}">${status}</span>`;
}

/** A POST form with one button, the CSRF token and hidden fields. */
export function actionForm(
  ctx: PageContext,
  action: string,
  label: string,
  fields: Record<string, string | number>,
  options: { danger?: boolean; confirm?: string; testId?: string } = {},
): Html {
  return html`
    <form method="post" action="${ctx.base}actions/${action}" class="inline"
      ${options.confirm === undefined ? "" : html`
        data-confirm="${options.confirm}"
      `}>
      <input type="hidden" name="csrf" value="${ctx.csrf}">
      ${Object.entries(fields).map(([key, value]) =>
        html`<input type="hidden" name="${key}" value="${String(value)}">`
      )}
      <button type="submit" class="${options.danger
        ? "btn danger"
        : "btn"}" data-testid="${options.testId ?? action}">${label}</button>
    </form>
  `;
}

/** A definition list of label/value rows. */
export function facts(rows: ReadonlyArray<[string, HtmlValue]>): Html {
  return html`<dl class="facts">${
    rows.map(([label, value]) =>
      html`
        <dt>${label}</dt>
        <dd>${value}</dd>
      `
    )
  }</dl>`;
}

/** The whole page around `body`. */
export function layout(ctx: PageContext, page: string, body: Html): Html {
  const nav: Array<[string, string, string]> = [
    ["overview", "", "Overview"],
    ["tasks", "tasks", "Tasks"],
    ["queues", "queues", "Queues"],
    ["schedules", "schedules", "Schedules"],
    ["workers", "workers", "Workers"],
  ];
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>sitq${ctx.title ? ` · ${ctx.title}` : ""}</title>
        <link rel="stylesheet" href="${ctx.base}assets/uplot.css">
        <link rel="stylesheet" href="${ctx.base}assets/dashboard.css">
        <script src="${ctx.base}assets/uplot.js" defer></script>
        <script src="${ctx.base}assets/dashboard.js" defer></script>
      </head>
      <body data-base="${ctx.base}" data-page="${page}"
        data-refresh="${ctx.refreshMs}">
        <header>
      <a class="brand" href="${ctx.base}">sitq</a>
      <nav>${nav.map(([id, path, label]) =>
        html`
          <a href="${ctx.base}${path}" ${id === page
            ? html`
              class="current"
            `
            : ""}>${label}</a>
        `
      )}</nav>
      <span class="live" id="live" title="Updates every ${Math.round(
        ctx.refreshMs / 100,
      ) / 10} s">live</span>
      ${ctx.actions ? "" : html`
        <span class="ro"
          title="Start the dashboard with actions: true to retry, cancel, pause and prune">read-only</span>
      `}
      ${ctx.loggedIn
        ? html`
          <form method="post" action="${ctx.base}logout"
            class="inline"><input type="hidden" name="csrf" value="${ctx
              .csrf}"><button class="btn link" type="submit">Log out</button></form>
        `
        : ""}
        </header>
        <main>
    ${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ""}
    ${body}
        </main>
      </body>
    </html>
  `;
}

/** A bare page (login, errors) without navigation or scripts. */
export function plainPage(
  ctx: { base: string },
  title: string,
  body: Html,
): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>sitq · ${title}</title>
        <link rel="stylesheet" href="${ctx.base}assets/dashboard.css">
      </head>
      <body class="plain">
        <main>${body}</main>
      </body>
    </html>
  `;
}
