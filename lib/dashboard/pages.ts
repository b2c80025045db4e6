/**
 * The overview, task list and queues pages: server-side
 * HTML from the data of `data.ts`, every stored value escaped by `html`.
 * The client script (`client.ts`) keeps the marked parts up to date.
 *
 * @module
 */
import { TASK_STATUSES } from "../core/statuses.ts";
import type { QueueStats } from "../core/types.ts";
import type { TaskPage } from "../queue/results.ts";
import type { QueueInfo } from "../queue/queue_control.ts";
import { filterQuery, type ListFilter, type Overview } from "./data.ts";
import { formatDate, formatDuration } from "./format.ts";
import { type Html, html } from "./html.ts";
import { actionForm, badge, layout, type PageContext } from "./layout.ts";

function countCells(
  ctx: PageContext,
  counts: Partial<QueueStats>,
  filter: Partial<ListFilter>,
  liveKey: string,
): Html[] {
  return TASK_STATUSES.map((status) => {
    const n = counts[status] ?? 0;
    return html`
      <td
        class="num"><a href="${ctx.base}tasks${filterQuery({
          ...filter,
          status,
        })}" data-live="${liveKey}.${status}"${n === 0
          ? html`
            class="zero"
          `
          : ""}>${n}</a></td>
    `;
  });
}

const STATUS_HEADERS = html`${
  TASK_STATUSES.map((s) => html`<th class="num">${s}</th>`)
}`;

/** The overview: status cards, the chart, counts per name and queue. */
export function overviewPage(ctx: PageContext, data: Overview): Html {
  const cards = TASK_STATUSES.map((status) =>
    html`
      <a class="card s-${status}" href="${ctx.base}tasks?status=${status}"
        data-testid="card-${status}">
        <span class="card-label">${status}</span>
        <span class="card-count" data-live="stats.${status}">${data
          .stats[status]}</span>
      </a>
    `
  );
  const prune = ctx.actions
    ? html`
      <section class="panel">
        <h2>Prune</h2>
        <form method="post" action="${ctx.base}actions/prune" class="row"
          data-confirm="Delete these finished tasks for good?">
          <input type="hidden" name="csrf" value="${ctx.csrf}">
          <label>Delete <select name="statuses">
            <option value="completed,cancelled">completed and cancelled</option>
            <option value="completed">completed</option>
            <option value="failed">failed</option>
            <option value="completed,failed,cancelled">all finished</option>
          </select></label>
          <label>tasks finished more than <input type="number" name="hours" value="24" min="0" step="any" class="short"> hours ago</label>
          <button type="submit" class="btn danger" data-testid="prune">Prune</button>
        </form>
      </section>
    `
    : "";
  return layout(
    ctx,
    "overview",
    html`<h1>Overview</h1>
<section class="cards">${cards}</section>
<section class="panel">
  <h2>Throughput <small>tasks finished per minute, last hour</small></h2>
  <div id="chart" class="chart" data-testid="chart"></div>
  <p class="hint" id="chart-note"></p>
</section>
<section class="panel">
  <h2>By task name</h2>
  ${
      data.byName.length === 0
        ? html`<p class="empty">No tasks stored yet.</p>`
        : html`
          <table class="grid" data-testid="by-name">
            <thead>
              <tr><th>name</th>${STATUS_HEADERS}</tr>
            </thead>
            <tbody>${data.byName.map(({ name, counts }) =>
              html`<tr><td><a href="${ctx.base}tasks${
                filterQuery({ name })
              }">${name}</a></td>${
                countCells(ctx, counts, { name }, `name.${name}`)
              }</tr>`
            )}</tbody>
          </table>
        `
    }
</section>
<section class="panel">
  <h2>By queue</h2>
  ${queueTable(ctx, data.queues, false)}
</section>
${prune}`,
  );
}

function queueTable(
  ctx: PageContext,
  queues: readonly QueueInfo[],
  withActions: boolean,
): Html {
  if (queues.length === 0) return html`<p class="empty">No queues yet.</p>`;
  return html`
    <table class="grid" data-testid="queues">
      <thead>
        <tr><th>queue</th><th>state</th>${STATUS_HEADERS}${withActions
          ? html`<th>limits</th><th>oldest queued</th><th>due</th>${
            ctx.actions ? html`<th></th>` : ""
          }`
          : ""}</tr>
      </thead>
      <tbody>${queues.map((q) =>
        html`<tr><td><a href="${ctx.base}tasks${
          filterQuery({ queue: q.name })
        }">${q.name}</a></td>
<td>${q.paused ? html`<span class="badge paused">paused</span>` : "active"}</td>
${countCells(ctx, q.counts, { queue: q.name }, `queue.${q.name}`)}${
          withActions
            ? html`
              <td>${limitsText(q)}</td><td>${formatDuration(
                q.oldestQueuedAgeMs,
              )}</td><td
                class="num">${q.dueUnclaimed}</td>${ctx.actions
                  ? html`<td>${
                    q.paused
                      ? actionForm(ctx, "resume-queue", "Resume", {
                        queue: q.name,
                        back: "queues",
                      })
                      : actionForm(ctx, "pause-queue", "Pause", {
                        queue: q.name,
                        back: "queues",
                      })
                  }</td>`
                  : ""}
            `
            : ""
        }</tr>`
      )}</tbody>
    </table>
  `;
}

function limitsText(q: QueueInfo): string {
  const parts: string[] = [];
  if (q.concurrency !== null) parts.push(`at most ${q.concurrency} at once`);
  if (q.rateLimit !== null) {
    parts.push(
      `${q.rateLimit.limit} per ${formatDuration(q.rateLimit.intervalMs)}`,
    );
  }
  return parts.length === 0 ? "none" : parts.join(", ");
}

/**
 * The bulk action of the list's filter, when its status allows one: retry
 * every failed or cancelled task it selects, or cancel every waiting,
 * queued or running one (each in one transaction).
 */
function bulkAction(ctx: PageContext, filter: ListFilter): Html | string {
  const fields = {
    status: filter.status ?? "",
    name: filter.name ?? "",
    queue: filter.queue ?? "",
    back: `tasks${filterQuery(filter)}`,
  };
  if (filter.status === "failed" || filter.status === "cancelled") {
    return actionForm(
      ctx,
      "bulk-retry",
      `Retry all ${filter.status} shown by this filter`,
      fields,
      { confirm: "Queue every matching task again?", testId: "bulk-retry" },
    );
  }
  if (
    filter.status === "waiting" || filter.status === "queued" ||
    filter.status === "running"
  ) {
    return actionForm(
      ctx,
      "bulk-cancel",
      `Cancel all ${filter.status} shown by this filter`,
      fields,
      {
        danger: true,
        confirm: "Cancel every matching task?",
        testId: "bulk-cancel",
      },
    );
  }
  return "";
}

/** The list of tasks with its filter form and paging. */
export function listPage(
  ctx: PageContext,
  filter: ListFilter,
  page: TaskPage,
): Html {
  const statusOptions = html`<option value="">any status</option>${
    TASK_STATUSES.map((s) =>
      html`
        <option value="${s}" ${filter.status === s
          ? html`
            selected
          `
          : ""}>${s}</option>
      `
    )
  }`;
  const rows = page.tasks.map((task) =>
    html`
      <tr data-id="${task.id}">
        <td class="num"><a href="${ctx.base}tasks/${task.id}">${task
          .id}</a></td>
        <td>${task.name}</td>
        <td>${task.queue}</td>
        <td>${badge(task.status)}</td>
        <td class="num">${task.attempts}/${task.maxAttempts}</td>
        <td>${formatDate(task.createdAt)}</td>
        <td>${formatDate(task.finishedAt)}</td>
      </tr>
    `
  );
  const bulk = ctx.actions ? bulkAction(ctx, filter) : "";
  const next = page.nextCursor === undefined ? "" : html`
    <a class="btn" data-testid="next-page"
      href="${ctx.base}tasks${filterQuery(filter, {
        cursor: page.nextCursor,
      })}">Older →</a>
  `;
  const first = filter.cursor === undefined
    ? ""
    : html`<a class="btn" href="${ctx.base}tasks${
      filterQuery(filter)
    }">← Newest</a>`;
  return layout(
    ctx,
    "tasks",
    html`
      <h1>Tasks</h1>
      <form method="get" action="${ctx.base}tasks" class="row filters"
        data-testid="filters">
        <label>Status <select name="status" data-testid="filter-status">${statusOptions}</select></label>
        <label>Name <input name="name" value="${filter.name ??
          ""}" placeholder="task name" data-testid="filter-name"></label>
        <label>Queue <input name="queue" value="${filter.queue ??
          ""}" placeholder="queue" data-testid="filter-queue"></label>
        <button class="btn" type="submit" data-testid="apply-filter">Filter</button>
        <a href="${ctx.base}tasks">Clear</a>
      </form>
      ${bulk}
      <table class="grid tasks" data-testid="task-list" data-query="${filterQuery(
        filter,
        filter.cursor === undefined ? {} : { cursor: filter.cursor },
      )}"
        data-live-list="${filter.cursor === undefined ? "yes" : "no"}">
        <thead>
          <tr>
            <th class="num">id</th>
            <th>name</th>
            <th>queue</th>
            <th>status</th>
            <th class="num">attempts</th>
            <th>created</th>
            <th>finished</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
      ${page.tasks.length === 0
        ? html`<p class="empty" data-testid="no-tasks">No tasks match.</p>`
        : ""}
      <p class="row paging">${first}${next}</p>
    `,
  );
}

/** The queues page: state, limits, counts, and pause/resume. */
export function queuesPage(
  ctx: PageContext,
  queues: readonly QueueInfo[],
): Html {
  return layout(
    ctx,
    "queues",
    html`
      <h1>Queues</h1>
      <section class="panel">${queueTable(ctx, queues, true)}</section>
    `,
  );
}
