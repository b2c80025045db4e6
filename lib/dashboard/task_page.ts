/**
 * A task's page: its facts, arguments, result or error with the stack,
 * progress, and the attempt timeline, with retry and cancel when actions
 * are on. Every stored value is shown as escaped text.
 *
 * @module
 */
import type { AttemptRecord, StoredError, TaskRecord } from "../core/types.ts";
import { detail, liveState } from "./data.ts";
import { formatDate, formatDuration, formatValue } from "./format.ts";
import { type Html, html } from "./html.ts";
import {
  actionForm,
  badge,
  facts,
  layout,
  type PageContext,
} from "./layout.ts";

function errorBlock(error: StoredError, testId: string): Html {
  return html`<div class="error" data-testid="${testId}">
  <p><strong>${error.name}</strong>${
    error.code
      ? html`
        <code>${error.code}</code>
      `
      : ""
  }: <span class="message">${error.message}</span></p>
  ${error.stack ? html`<pre class="stack">${error.stack}</pre>` : ""}
</div>`;
}

function resultBlock(task: TaskRecord): Html {
  const result = task.result;
  switch (result.status) {
    case "completed":
      return html`<pre class="value" data-testid="result">${
        formatValue(result.value)
      }</pre>`;
    case "failed":
      return errorBlock(result.error, "error");
    case "cancelled":
      return result.reason
        ? errorBlock(result.reason, "error")
        : html`<p class="empty">Cancelled by a user.</p>`;
    case "queued":
      return result.lastError
        ? html`<p>Waiting to retry after:</p>${
          errorBlock(result.lastError, "error")
        }`
        : html`<p class="empty">Not run yet.</p>`;
    case "waiting":
      return html`<p class="empty">Waits for ${result.waitingFor} task(s) it depends on.</p>`;
    case "running":
      return html`<p class="empty">Running on <code>${result.workerId}</code>.</p>`;
  }
}

function attemptItem(attempt: AttemptRecord): Html {
  const ms = attempt.finishedAt.getTime() - attempt.startedAt.getTime();
  return html`<li class="attempt o-${attempt.outcome}" data-testid="attempt">
  <div class="when">${formatDate(attempt.startedAt)}</div>
  <div><strong>Attempt ${attempt.attempt}</strong> ${
    badge(attempt.outcome)
  } after ${formatDuration(ms)} on <code>${attempt.workerId}</code></div>
  ${attempt.error ? errorBlock(attempt.error, "attempt-error") : ""}
</li>`;
}

function timeline(task: TaskRecord): Html {
  const items: Html[] = [
    html`
      <li class="attempt o-created">
        <div class="when">${formatDate(task.createdAt)}</div>
        <div><strong>Enqueued</strong>${task.runAt.getTime() >
            task.createdAt.getTime()
          ? html`, to run at ${formatDate(task.runAt)}`
          : ""}</div>
      </li>
    `,
    ...task.history.map(attemptItem),
  ];
  if (task.status === "running" && task.startedAt) {
    items.push(
      html`
        <li class="attempt o-running">
          <div class="when">${formatDate(task.startedAt)}</div>
          <div><strong>Attempt ${task.attempts}</strong> ${badge(
            "running",
          )} on <code>${task.workerId ?? ""}</code>${task.leaseExpiresAt
            ? html`, lease until ${formatDate(task.leaseExpiresAt)}`
            : ""}</div>
        </li>
      `,
    );
  }
  if (task.finishedAt) {
    items.push(
      html`
        <li class="attempt o-${task.status}">
          <div class="when">${formatDate(task.finishedAt)}</div>
          <div><strong>Finished</strong> ${badge(task.status)}</div>
        </li>
      `,
    );
  }
  return html`<ol class="timeline" data-testid="timeline">${items}</ol>`;
}

function taskActions(ctx: PageContext, task: TaskRecord): Html | string {
  if (!ctx.actions) return "";
  const back = `tasks/${task.id}`;
  const forms: Html[] = [];
  if (task.status === "failed" || task.status === "cancelled") {
    forms.push(actionForm(ctx, "retry", "Retry", { id: task.id, back }));
  }
  if (
    task.status === "waiting" || task.status === "queued" ||
    task.status === "running"
  ) {
    forms.push(
      actionForm(ctx, "cancel", "Cancel", { id: task.id, back }, {
        danger: true,
        confirm: "Cancel this task?",
      }),
    );
  }
  return forms.length === 0 ? "" : html`<div class="actions">${forms}</div>`;
}

/** The page of one task. */
export function taskPage(ctx: PageContext, task: TaskRecord): Html {
  const rows: Array<[string, Html | string | number]> = [
    ["status", html`<span data-live="status">${badge(task.status)}</span>`],
    [
      "queue",
      html`<a href="${ctx.base}tasks?queue=${
        encodeURIComponent(task.queue)
      }">${task.queue}</a>`,
    ],
    [
      "attempts",
      html`<span data-live="attempts">${task.attempts}</span> of ${task.maxAttempts}`,
    ],
    ["priority", task.priority],
    ["created", formatDate(task.createdAt)],
    ["run at", formatDate(task.runAt)],
    [
      "started",
      html`<span data-live="startedAt">${formatDate(task.startedAt)}</span>`,
    ],
    [
      "finished",
      html`<span data-live="finishedAt">${formatDate(task.finishedAt)}</span>`,
    ],
    ["worker", html`<code data-live="workerId">${task.workerId ?? ""}</code>`],
  ];
  if (task.timeout !== undefined) {
    rows.push(["timeout", formatDuration(task.timeout)]);
  }
  if (task.uniqueKey !== undefined) rows.push(["unique key", task.uniqueKey]);
  if (task.cancelledBy !== undefined) {
    rows.push([
      "cancelled by",
      html`<a href="${ctx.base}tasks/${task.cancelledBy}">#${task.cancelledBy}</a>`,
    ]);
  }
  return layout(
    { ...ctx, title: `#${task.id} ${task.name}` },
    "task",
    html`
      <h1 data-task-id="${task.id}"
        data-state="${liveState(detail(task))}">Task #${task
          .id} <span class="task-name" data-testid="task-name">${task
          .name}</span> ${badge(task.status)}</h1>
      ${taskActions(ctx, task)}
      <div class="columns">
        <section class="panel">${facts(rows)}</section>
        <section class="panel">
          <h2>Progress</h2>
          <pre class="value" data-live="progress"
            data-testid="progress">${task.progress === undefined
              ? ""
              : formatValue(task.progress)}</pre>
        </section>
      </div>
      <section class="panel">
        <h2>Arguments</h2>
        <pre class="value" data-testid="args">${formatValue(task.args)}</pre>
      </section>
      <section class="panel">
        <h2>Result</h2>
        ${resultBlock(task)}
      </section>
      <section class="panel">
        <h2>Attempts</h2>
        ${timeline(task)}
      </section>
    `,
  );
}
