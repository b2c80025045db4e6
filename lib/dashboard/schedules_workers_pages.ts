/**
 * The schedules and workers pages: server-side HTML, every stored value
 * escaped by `html`; with actions on, each schedule's pause or resume and
 * remove buttons.
 *
 * @module
 */
import type { WorkerInfo } from "../queue/workers.ts";
import type { ScheduleInfo } from "../schedule/options.ts";
import { filterQuery } from "./data.ts";
import { formatDate, formatDuration } from "./format.ts";
import { type Html, html } from "./html.ts";
import { actionForm, layout, type PageContext } from "./layout.ts";

/** The schedules page. */
export function schedulesPage(
  ctx: PageContext,
  schedules: readonly ScheduleInfo[],
): Html {
  const rows = schedules.map((s) =>
    html`<tr><td>${s.name}</td><td><a href="${ctx.base}tasks${
      filterQuery({ name: s.taskName })
    }">${s.taskName}</a></td><td>${s.queue}</td>
<td><code>${
      s.cron ?? `every ${formatDuration(s.every)}`
    }</code></td><td>${s.timezone}</td>
<td>${s.paused ? html`<span class="badge paused">paused</span>` : "active"}</td>
<td>${formatDate(s.nextRunAt)}</td><td>${formatDate(s.lastSlotAt)}</td>${
      ctx.actions
        ? html`<td>${
          s.paused
            ? actionForm(ctx, "resume-schedule", "Resume", {
              schedule: s.name,
              back: "schedules",
            })
            : actionForm(ctx, "pause-schedule", "Pause", {
              schedule: s.name,
              back: "schedules",
            })
        }${
          actionForm(ctx, "remove-schedule", "Remove", {
            schedule: s.name,
            back: "schedules",
          }, {
            danger: true,
            confirm:
              `Remove schedule ${s.name}? Tasks it already enqueued stay.`,
          })
        }</td>`
        : ""
    }</tr>`
  );
  return layout(
    ctx,
    "schedules",
    html`
      <h1>Schedules</h1>
      <section class="panel">${schedules.length === 0
        ? html`<p class="empty">No schedules.</p>`
        : html`
          <table class="grid" data-testid="schedules">
            <thead>
              <tr><th>schedule</th><th>task</th><th>queue</th><th>when</th><th>timezone</th><th>state</th><th>next run</th><th>last slot</th>${ctx
                  .actions
                ? html`<th></th>`
                : ""}</tr>
            </thead>
            <tbody>${rows}</tbody>
          </table>
        `}</section>
    `,
  );
}

/** The workers page: the live registry, in any process. */
export function workersPage(
  ctx: PageContext,
  workers: readonly WorkerInfo[],
): Html {
  const rows = workers.map((w) =>
    html`
      <tr>
        <td><code>${w.id}</code></td>
        <td>${w.host}</td>
        <td class="num">${w.pid}</td>
        <td>${w.names.join(", ")}</td>
        <td>${formatDate(w.startedAt)}</td>
        <td>${formatDate(w.heartbeatAt)}</td>
      </tr>
    `
  );
  return layout(
    ctx,
    "workers",
    html`
      <h1>Workers</h1>
      <section class="panel">${workers.length === 0
        ? html`<p class="empty">No worker is running on this database.</p>`
        : html`
          <table class="grid" data-testid="workers">
            <thead>
              <tr>
                <th>id</th>
                <th>host</th>
                <th class="num">pid</th>
                <th>task names</th>
                <th>started</th>
                <th>last heartbeat</th>
              </tr>
            </thead>
            <tbody>${rows}</tbody>
          </table>
        `}</section>
    `,
  );
}
